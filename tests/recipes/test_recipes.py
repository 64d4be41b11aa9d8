"""Every recipe builds its full configuration for every method (dry run)."""

import importlib.util
import json
import pathlib

import pytest

from keras_lt.training.methods import METHODS

RECIPES = pathlib.Path(__file__).resolve().parents[2] / "recipes"
DATASETS = {
    "cifar10_lt": "cifar10",
    "cifar100_lt": "cifar100",
    "tiny_imagenet_lt": "tiny_imagenet",
    "inaturalist2018": "inaturalist2018",
}


def load_recipe(name):
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", RECIPES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_dataset_has_a_recipe():
    assert sorted(p.stem for p in RECIPES.glob("*.py")) == sorted(DATASETS)


@pytest.mark.parametrize("recipe", sorted(DATASETS))
def test_dry_run_every_method(recipe, capsys):
    module = load_recipe(recipe)
    assert module.DATASET == DATASETS[recipe]
    for method in METHODS:
        assert module.main(["--method", method, "--dry-run"]) == 0
        plan = json.loads(capsys.readouterr().out)
        config = plan["config"]
        assert (config["dataset"], config["method"]) == (DATASETS[recipe], method)
        # Fully resolved: every schedule setting is a value, none left to defaults.
        for key in ("epochs", "batch_size", "lr", "warmup_epochs", "milestones", "lr_factors",
                    "weight_decay", "backbone", "image_size", "imbalance"):
            assert config[key] is not None, (recipe, method, key)
        for key in METHODS[method].hyperparameters:
            assert config[key] is not None, (recipe, method, key)
        ratio = "" if config["ratio"] is None else f"{config['ratio']:g}"
        assert plan["run_dir"].endswith(
            f"{DATASETS[recipe]}-{config['imbalance']}{ratio}-{method}-e{config['epochs']}-s0")
        if DATASETS[recipe] != "inaturalist2018":  # class counts known from the profile
            assert plan["method"]["loss"]["class"]
            assert len(plan["method"]["class_counts"]) == {
                "cifar10": 10, "cifar100": 100, "tiny_imagenet": 200}[DATASETS[recipe]]


def test_cifar10_dry_run_counts_and_scaled_schedule(capsys):
    module = load_recipe("cifar10_lt")
    assert module.main(["--method", "ldam-drw", "--epochs", "30", "--dry-run"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["method"]["num_train"] == 12406  # CIFAR-10-LT, ratio 100
    assert plan["config"]["milestones"] == [24, 27]
    assert plan["method"]["callbacks"] == [{"class": "DeferredReweighting", "start_epoch": 24}]


def test_dry_run_shows_when_ib_and_cdt_switch(capsys):
    module = load_recipe("cifar10_lt")
    assert module.main(["--method", "ib", "--dry-run"]) == 0
    callbacks = json.loads(capsys.readouterr().out)["method"]["callbacks"]
    # IB from epoch 100 of 200 (Park et al.): JSON keys are strings.
    assert callbacks == [{"class": "PhaseSwitch", "schedule": {"100": {"ib_active": 1.0}}}]


def test_step_imbalance_and_options(capsys):
    module = load_recipe("cifar100_lt")
    argv = ["--method", "mfw-drw", "--imbalance", "step", "--ratio", "10", "--alpha", "1.0",
            "--seed", "3", "--dry-run"]
    assert module.main(argv) == 0
    config = json.loads(capsys.readouterr().out)["config"]
    assert (config["imbalance"], config["ratio"], config["alpha"], config["mfw_beta"],
            config["seed"]) == ("step", 10.0, 1.0, 0.01, 3)


def test_recipe_rejects_unknown_method(capsys):
    module = load_recipe("cifar10_lt")
    with pytest.raises(SystemExit):
        module.main(["--method", "nope", "--dry-run"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_a_recipe_error_names_the_option(capsys):
    module = load_recipe("cifar10_lt")
    assert module.main(["--batch-size", "0", "--dry-run"]) == 2
    said = capsys.readouterr().err
    assert "`--batch-size` must be a positive integer" in said
