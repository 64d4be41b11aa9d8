"""TrainConfig: the papers' defaults, epoch scaling, JSON round trip, clear errors."""

import json

import pytest

from keras_lt.training.config import DATASETS, TrainConfig


def test_cifar10_defaults_are_the_papers():
    c = TrainConfig(dataset="cifar10", method="erm").resolve()
    # METHODS.md, shared CIFAR recipe: ResNet-32, 200 epochs, batch 128, lr 0.1,
    # 5 warm-up epochs, x0.01 at 160 and x0.0001 at 180, wd 2e-4, momentum 0.9.
    assert (c.backbone, c.epochs, c.batch_size, c.lr) == ("resnet32", 200, 128, 0.1)
    assert c.warmup_epochs == 5
    assert c.milestones == [160, 180] and c.lr_factors == [0.01, 0.0001]
    assert (c.weight_decay, c.momentum) == (2e-4, 0.9)
    assert (c.imbalance, c.ratio) == ("exp", 100.0)
    assert c.run_name == "cifar10-exp100-erm-e200-s0"


def test_default_run_names_tell_runs_apart():
    names = {TrainConfig(dataset=d, method=m, imbalance=i, ratio=r, epochs=e, seed=s)
             .resolve().run_name
             for d, m, i, r, e, s in [("cifar10", "erm", "exp", 100, None, 0),
                                      ("cifar10", "erm", "exp", 10, None, 0),
                                      ("cifar10", "erm", "step", 100, None, 0),
                                      ("cifar10", "erm", "exp", 100, 2, 0),
                                      ("cifar10", "erm", "exp", 100, None, 1),
                                      ("cifar100", "erm", "exp", 100, None, 0),
                                      ("cifar10", "ldam-drw", "exp", 100, None, 0)]}
    assert len(names) == 7
    assert "cifar10-step100-erm-e200-s0" in names and "cifar10-exp100-erm-e2-s0" in names
    inat = TrainConfig(dataset="inaturalist2018", method="ib").resolve()
    assert inat.run_name == f"inaturalist2018-natural-ib-e{inat.epochs}-s0"
    step = TrainConfig(dataset="cifar10", imbalance="step", ratio=10, minority_fraction=0.3)
    assert step.resolve().run_name == "cifar10-step10-mu0.3-erm-e200-s0"
    assert TrainConfig(dataset="cifar10", ratio=12.5).resolve().run_name == (
        "cifar10-exp12.5-erm-e200-s0")
    assert TrainConfig(dataset="cifar10", ratio=1e6).resolve().run_name == (
        "cifar10-exp1000000-erm-e200-s0")
    named = TrainConfig(dataset="cifar10", run_name="mine", output_dir="out").resolve()
    assert named.run_dir == "out/mine"


def test_other_datasets_defaults():
    tiny = TrainConfig(dataset="tiny_imagenet").resolve()
    assert (tiny.backbone, tiny.image_size) == ("resnet18", 64)
    inat = TrainConfig(dataset="inaturalist2018").resolve()
    assert (inat.backbone, inat.image_size, inat.batch_size, inat.epochs, inat.lr) == (
        "resnet50", 224, 512, 90, 0.2)
    assert inat.milestones == [30, 60, 80] and inat.lr_factors == [0.1, 0.01, 0.001]
    assert inat.weight_decay == 2e-4  # CDT suppl. A.2: "for all the experiments"
    assert tiny.weight_decay == 2e-4  # IB sec. 5: Tiny-ImageNet, weight decay 2e-4
    assert inat.imbalance == "natural" and inat.ratio is None
    assert DATASETS["tiny_imagenet"].pad == 8 and DATASETS["cifar10"].pad == 4


def test_schedule_scales_with_epochs():
    c = TrainConfig(dataset="cifar10", method="ldam-drw", epochs=30).resolve()
    # round(160 * 30 / 200) = 24, round(180 * 30 / 200) = 27; 5 warm-up epochs -> 1.
    assert c.milestones == [24, 27]
    assert c.warmup_epochs == 1
    assert c.drw_epoch == 24


@pytest.mark.parametrize(
    "method, epochs, expected",
    [
        # round(0.8 * 2) = 2 and round(0.9 * 3) = 3: both after the run's last
        # epoch (0-based), so DRW and the last decay never happened.
        ("ldam-drw", 2, dict(drw_epoch=1, milestones=[1], lr_factors=[0.0001])),
        ("ldam-drw", 3, dict(drw_epoch=2, milestones=[2], lr_factors=[0.0001])),
        ("erm", 4, dict(milestones=[3], lr_factors=[0.0001])),
        ("erm", 5, dict(milestones=[4], lr_factors=[0.0001])),  # 4.5 rounds to 4, 4 to 4
        ("erm", 6, dict(milestones=[5], lr_factors=[0.0001])),  # 4.8 -> 5, 5.4 -> 5
        ("erm", 8, dict(milestones=[6, 7], lr_factors=[0.01, 0.0001])),
        ("mfw-drw", 2, dict(drw_epoch=1)),
        ("ib", 2, dict(phase_epoch=1)),
    ],
)
def test_scaled_switches_stay_inside_a_short_run(method, epochs, expected):
    c = TrainConfig(dataset="cifar10", method=method, epochs=epochs).resolve()
    assert {k: getattr(c, k) for k in expected} == expected
    switches = list(c.milestones) + [e for e in (c.drw_epoch, c.phase_epoch) if e is not None]
    assert max(switches) <= epochs - 1


def test_one_epoch_merges_colliding_milestones():
    c = TrainConfig(dataset="cifar10", method="erm", epochs=1).resolve()
    # (160, 180) both land on epoch 1; the later factor is the one in force there.
    assert c.milestones == [1] and c.lr_factors == [0.0001]


def test_explicit_settings_win_and_resolve_is_idempotent():
    c = TrainConfig(dataset="cifar10", method="ldam", epochs=50, lr=0.05, max_margin=0.3,
                    milestones=[10, 20], lr_factors=[0.5, 0.1]).resolve()
    assert (c.lr, c.max_margin, c.scale) == (0.05, 0.3, 30.0)
    assert c.milestones == [10, 20] and c.lr_factors == [0.5, 0.1]
    assert c.resolve() == c


def test_json_round_trip(tmp_path):
    c = TrainConfig(dataset="cifar100", method="cb-focal", epochs=20, seed=3).resolve()
    path = tmp_path / "config.json"
    c.to_json(path)
    assert json.loads(path.read_text())["method"] == "cb-focal"
    assert TrainConfig.from_json(str(path)) == c
    assert TrainConfig.from_json(c.to_json()) == c


def test_a_saved_config_without_a_later_setting_reruns_as_it_trained():
    # ib-focal's q was p_y ("softmax") before `focal_probability` existed; since,
    # the default is the reference code's p_y^{w_y}. A config.json of then lacks
    # the key and must not take the new default.
    new = TrainConfig(dataset="cifar10", method="ib-focal").resolve()
    assert new.focal_probability == "class_weighted"
    old = new.to_dict()
    del old["focal_probability"]
    assert TrainConfig.from_json(json.dumps(old)).resolve().focal_probability == "softmax"
    assert TrainConfig.from_json(new.to_json()) == new  # written since: as it is
    # Only where the key is missing, and only for the method it changed.
    cleared = TrainConfig.from_json(json.dumps(dict(old, focal_probability=None)))
    assert cleared.resolve().focal_probability == "class_weighted"
    ib = TrainConfig(dataset="cifar10", method="ib").resolve().to_dict()
    del ib["focal_probability"]
    assert TrainConfig.from_json(json.dumps(ib)).focal_probability is None
    # A hand-written config (it lacks the run settings every saved one holds)
    # that leaves the key out means the default, as a flag left out does.
    hand_written = {"dataset": "cifar10", "method": "ib-focal", "epochs": 10}
    assert TrainConfig.from_json(json.dumps(hand_written)).focal_probability is None
    assert TrainConfig.from_json(json.dumps(hand_written)).resolve().focal_probability == "class_weighted"


def test_a_saved_config_stays_saved_when_a_run_setting_is_added(monkeypatch):
    # A run setting added later is missing from every config.json saved before
    # it; that must not make an old ib-focal file read as hand-written.
    from keras_lt.training import config as config_module

    monkeypatch.setattr(config_module, "RUN_SETTINGS", config_module.RUN_SETTINGS + ("later",))
    old = TrainConfig(dataset="cifar10", method="ib-focal").to_dict()
    del old["focal_probability"]
    assert config_module.with_settings_before_they_existed(old)["focal_probability"] == "softmax"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(dataset="mnist"), "Unknown dataset 'mnist'. Known datasets: cifar10"),
        (dict(method="ldam-drs"), "Valid methods: erm, rw, rs, focal"),
        (dict(imbalance="linear"), "Unknown imbalance type"),
        (dict(strategy="tpu"), "Unknown strategy"),
        (dict(ratio=0.5), "must be >= 1"),
        (dict(epochs=0), "`epochs` must be a positive integer"),
        (dict(method="erm", beta=0.99), "does not use `beta`"),
        (dict(method="erm", drw_epoch=10, beta=0.5), "does not use `beta`, `drw_epoch` "),
        (dict(dataset="inaturalist2018", imbalance="exp"), "naturally"),
        (dict(dataset="inaturalist2018", ratio=10.0), "--ratio does not apply"),
        (dict(dataset="cifar10", imbalance="natural"), "not naturally"),
        (dict(dataset="cifar10", milestones=[10]), "needs --lr-factors"),
        (dict(method="erm", mfw_layer="stage1"), "does not use `mfw_layer`"),
        # Switches after the last epoch would silently never happen.
        (dict(dataset="cifar10", method="ldam-drw", epochs=30, drw_epoch=160),
         "drw_epoch 160: at or after the end of a 30-epoch run"),
        (dict(dataset="cifar10", method="ib", epochs=30, phase_epoch=100), "phase_epoch 100"),
        (dict(dataset="cifar10", epochs=30, milestones=[20, 40], lr_factors=[0.1, 0.01]),
         "milestone 40: at or after the end"),
        # Epochs count from 0: epoch 2 of a 2-epoch run never starts.
        (dict(dataset="digits", method="ldam-drw", epochs=2, drw_epoch=2),
         "drw_epoch 2: at or after the end of a 2-epoch run (epochs 0..1"),
        (dict(dataset="cifar10", milestones=[180, 160], lr_factors=[0.01, 0.0001]),
         "must be increasing"),
        # Not 6n + 2: the dry run accepted it and training failed in cifar_resnet.
        (dict(dataset="cifar10", backbone="resnet34"), "Unknown backbone 'resnet34'"),
        (dict(dataset="cifar10", lr=-0.1), "`lr` must be > 0"),
        (dict(dataset="cifar10", warmup_epochs=-1), "`warmup_epochs` must be a non-negative"),
        (dict(dataset="cifar10", momentum=1.0), "`momentum` must be in"),
        (dict(dataset="cifar10", weight_decay=-1e-4), "`weight_decay` must be >= 0"),
    ],
)
def test_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        TrainConfig(**kwargs).resolve()


def test_from_dict_rejects_unknown_settings():
    with pytest.raises(ValueError, match="Unknown TrainConfig settings"):
        TrainConfig.from_dict({"dataset": "digits", "learning_rate": 0.1})


def test_mfw_layer_round_trips_and_defaults_to_the_papers_stage():
    # Default: after the first residual stage ("after the second group of
    # convolutions", Ye, Zhan, Chao 2021 sec. 5.1).
    assert TrainConfig(dataset="cifar10", method="mfw").resolve().mfw_layer == "stage1"
    assert TrainConfig(dataset="cifar10", method="erm").resolve().mfw_layer is None
    c = TrainConfig(dataset="cifar10", method="mfw-drw", mfw_layer="stage3", epochs=10).resolve()
    assert c.mfw_layer == "stage3" and c.resolve() == c
    assert json.loads(c.to_json())["mfw_layer"] == "stage3"
    assert TrainConfig.from_json(c.to_json()) == c
    # A config.json written before the field existed still loads and resolves.
    old = {k: v for k, v in c.to_dict().items() if k != "mfw_layer"}
    assert TrainConfig.from_dict(old).resolve().mfw_layer == "stage1"


@pytest.mark.parametrize("backbone, bad, choices", [
    ("resnet32", "stage4", "stem, stage1, stage2, stage3"),
    ("resnet18", "pool", "stem, stage1, stage2, stage3, stage4"),
    ("small_cnn", "stage3", "stem, stage1, stage2"),
])
def test_a_bad_mfw_layer_names_the_backbones_blocks(backbone, bad, choices):
    with pytest.raises(ValueError) as error:
        TrainConfig(dataset="cifar10", method="mfw", backbone=backbone, mfw_layer=bad).resolve()
    assert repr(bad) in str(error.value) and backbone in str(error.value)
    assert choices in str(error.value)


def test_backbone_blocks_are_the_built_backbones_blocks():
    from keras_lt.models import build_backbone
    from keras_lt.models.resnet50 import _BLOCK_ENDS
    from keras_lt.training.config import backbone_blocks
    from keras_lt.training.small_cnn import small_cnn

    def blocks(model):
        return tuple(layer.name for layer in model.layers if layer.name != "pool")

    assert backbone_blocks("small_cnn") == blocks(small_cnn((8, 8, 1)))
    assert backbone_blocks("resnet20") == blocks(build_backbone("resnet20"))
    assert backbone_blocks("resnet18") == blocks(build_backbone("resnet18", (32, 32, 3)))
    assert backbone_blocks("resnet50") == tuple(name for name, _ in _BLOCK_ENDS)
    with pytest.raises(ValueError, match="Unknown backbone"):
        backbone_blocks("vgg16")


def test_mfw_layer_on_the_command_line():
    from keras_lt.cli import build_parser, config_from_args

    args = build_parser().parse_args(
        ["train", "cifar10", "--method", "mfw", "--mfw-layer", "stage2", "--dry-run"])
    assert config_from_args(args).resolve().mfw_layer == "stage2"


def test_mfw_settings_are_checked_with_the_config():
    # They reach the model, built after the run folder is written: the config refuses them.
    with pytest.raises(ValueError, match="`mfw_beta` must be > 0"):
        TrainConfig(dataset="digits", method="mfw", mfw_beta=0.0).resolve()
    with pytest.raises(ValueError, match=r"`alpha` \(MFW's Beta\(alpha, alpha\)\) must be > 0"):
        TrainConfig(dataset="digits", method="mfw-drw", alpha=-1.0).resolve()
    assert TrainConfig(dataset="digits", method="mfw", mfw_beta=0.5).resolve().mfw_beta == 0.5
