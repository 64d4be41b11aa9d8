"""`keras-lt tune`: search a method's hyper-parameters, retrain the best, test it.

    keras-lt tune DATASET --method M [--max-trials N] [--tuner random|grid|bayesian]
                  [--epochs E] [--val-per-class K] [--directory D] [--resume | --overwrite]
                  [--values NAME=V1,V2,...] [--fixed NAME=V] [--post-hoc-tau] [--no-retrain]

Examples:

    keras-lt tune cifar10 --method cb --max-trials 20 --data-dir .data/cifar10
    keras-lt tune cifar10 --method cdt --tuner grid --post-hoc-tau
    keras-lt tune digits --method ldam-drw --max-trials 4 --epochs 4 --values scale=10,30
    keras-lt tune digits --method ib --resume            # continue an interrupted search

A distributed search is the same command on every process, with KerasTuner's
environment variables (see `keras_lt.tuning.distributed`):

    KERASTUNER_TUNER_ID=chief|tuner0|tuner1...  KERASTUNER_ORACLE_IP=...  KERASTUNER_ORACLE_PORT=...

This module only builds the parser (no KerasTuner import), so `keras-lt
--help` works without the "tuning" extra; the search imports it when run.
"""

import json
import os
import sys

from keras_lt.checks import whole_number

TUNERS = ("random", "grid", "bayesian")


def _value(text):
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _assignment(text, many):
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise ValueError(f"Expected NAME=VALUE{',VALUE...' if many else ''}, got {text!r}.")
    if many:
        return name.strip(), [_value(v) for v in value.split(",") if v.strip()]
    return name.strip(), _value(value)


def _method_choices():
    from keras_lt.training.methods import METHODS

    return ["cb"] + list(METHODS) + ["tau"]


def add_tune_parser(subparsers):
    """Registers `tune` (and its handler, `args.func`) on `keras-lt`'s subparsers."""
    import argparse

    from keras_lt.training.config import DATASETS, STRATEGIES

    methods = _method_choices()
    tune = subparsers.add_parser(
        "tune",
        help="search a method's hyper-parameters on a held-out split, retrain the best, test it",
        description="KerasTuner search of a method's hyper-parameters on a balanced validation "
        "split held out from the training set (CDT supplement B.6); then the best "
        "configuration is retrained on the whole training set, tested once and saved like "
        "`keras-lt train`. Methods: cb (loss type, beta, gamma), ldam-drw / ldam (max margin, "
        "scale, DRW start), cdt (gamma), ib / ib-cb / ib-focal (alpha, phase start), mfw / "
        "mfw-drw (alpha, layer); any other method trains once (useful with --post-hoc-tau); "
        "tau = erm --post-hoc-tau.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Examples:", 1)[1].split("This module", 1)[0],
    )
    tune.add_argument("dataset", choices=sorted(DATASETS), help="dataset to tune on")
    tune.add_argument("--method", required=True, choices=methods, metavar="METHOD",
                      help="one of: " + ", ".join(methods))
    search = tune.add_argument_group("search")
    search.add_argument("--tuner", default="random", choices=TUNERS,
                        help="KerasTuner search algorithm (default random)")
    search.add_argument("--max-trials", type=int, default=10,
                        help="number of trials (default 10; grid: at most its size)")
    search.add_argument("--val-per-class", type=int,
                        help="validation samples held out per class (3; 10 on iNaturalist)")
    search.add_argument("--directory", default="tuning",
                        help="folder of the KerasTuner projects (default tuning/)")
    search.add_argument("--project-name",
                        help="project folder name (default "
                             "<dataset>-<imbalance><ratio>-<method>, e.g. cifar10-exp100-cdt)")
    again = search.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue the search found in the project folder")
    again.add_argument("--overwrite", action="store_true",
                       help="delete the project folder and start afresh")
    search.add_argument("--values", action="append", default=[], metavar="NAME=V1,V2",
                        help="replace a hyper-parameter's values, e.g. beta=0.99,0.9999")
    search.add_argument("--fixed", action="append", default=[], metavar="NAME=V",
                        help="pin a hyper-parameter to one value, e.g. loss_type=focal")
    search.add_argument("--post-hoc-tau", action="store_true",
                        help="also tune tau of z_c / N_c^tau on the validation split")
    search.add_argument("--no-retrain", action="store_true",
                        help="stop after the search (no retrain, no test)")
    search.add_argument("--worker-timeout", type=float,
                        help="seconds a distributed worker waits for the chief at the end "
                        "(default: no limit)")
    data = tune.add_argument_group("data")
    data.add_argument("--data-dir", help="dataset folder (train/ and test/ class folders)")
    data.add_argument("--imbalance", choices=("exp", "step", "natural"),
                      help="long-tailed ('exp', the default) or step imbalance; iNaturalist "
                      "is 'natural' (used as it is)")
    data.add_argument("--ratio", type=float, help="imbalance ratio (dataset default)")
    data.add_argument("--minority-fraction", type=float, default=0.5,
                      help="fraction of minority classes for step imbalance (default 0.5)")
    train = tune.add_argument_group("training of every trial and of the retrain")
    train.add_argument("--epochs", type=int, help="epochs (dataset default)")
    train.add_argument("--batch-size", type=int, help="images per step (dataset default)")
    train.add_argument("--lr", type=float, help="peak learning rate")
    train.add_argument("--backbone", help="backbone name (dataset default)")
    train.add_argument("--seed", type=int, default=0,
                       help="seed of the data subset, the validation split, weights and order "
                       "(default 0)")
    train.add_argument("--strategy", default="none", choices=[s for s in STRATEGIES
                                                               if s != "multiworker"],
                       help="devices of each trial: none or mirrored (all local devices)")
    run = tune.add_argument_group("output")
    run.add_argument("--output-dir", default="saved_models",
                     help="root of the retrained run (default saved_models/)")
    run.add_argument("--run-name", help="run folder (default <dataset>-<imbalance><ratio>-<method>-e<epochs>-s<seed>-tuned)")
    run.add_argument("--dry-run", action="store_true",
                     help="print the search space and settings; train nothing")
    run.add_argument("--quiet", action="store_true",
                     help="no progress on screen; the result is printed as one JSON line")
    tune.set_defaults(command="tune", func=run_tune)
    return tune


def _retrain_run_dirs(hypermodel, args):
    """Where the retrain may be saved: one folder, or one per loss type for `cb`
    (the best trial's picks the method, and the method is in the run name)."""
    from keras_lt.tuning.search import retrain_config

    return sorted({retrain_config(hypermodel, {"loss_type": t}, args.output_dir,
                                  args.run_name).run_dir
                   for t in hypermodel.space.get("loss_type", [None])})


def _config(args, method):
    from keras_lt.training.config import TrainConfig

    return TrainConfig(
        dataset=args.dataset, method=method, data_dir=args.data_dir, imbalance=args.imbalance,
        ratio=args.ratio, minority_fraction=args.minority_fraction, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, backbone=args.backbone, seed=args.seed,
        strategy=args.strategy, output_dir=args.output_dir, verbose=0 if args.quiet else 1,
    )


def run_tune(args):
    """The handler of `keras-lt tune`; returns the exit status."""
    method, post_hoc_tau = args.method, args.post_hoc_tau
    if method == "tau":
        method, post_hoc_tau = "erm", True
    search_space = dict(_assignment(t, many=True) for t in args.values)
    fixed = dict(_assignment(t, many=False) for t in args.fixed)
    config = _config(args, "cb-softmax" if method == "cb" else method)
    try:  # KerasTuner (the "tuning" extra) is needed from here on
        from keras_lt.tuning import distributed
        from keras_lt.tuning.hypermodels import make_hypermodel
        from keras_lt.tuning.project_folder import check_legacy_search, default_project_name
        from keras_lt.tuning.search import pin_fixed, run_search
        from keras_lt.tuning.search_data import default_val_per_class, load_search_data
    except ImportError as error:
        print(f"keras-lt tune: {error}", file=sys.stderr)
        return 2
    role = distributed.search_role()
    resolved = config.resolve()
    project = args.project_name or default_project_name(resolved, method)
    project_dir = os.path.join(args.directory, project)
    if not args.project_name and role != "worker":
        check_legacy_search(args.directory, resolved, method, args.overwrite)
    if args.dry_run:
        whole_number(args.max_trials, "max_trials", minimum=1)  # as the search checks it
        data = load_search_data(config, args.val_per_class)
        hm = make_hypermodel(method, data, config, search_space=pin_fixed(search_space, fixed))
        print(json.dumps({
            "method": args.method, "tuner": args.tuner, "max_trials": args.max_trials,
            "post_hoc_tau": post_hoc_tau, "retrain": not args.no_retrain,
            "hypermodel": type(hm).__name__, "space": {k: list(v) for k, v in hm.space.items()},
            "fixed": fixed, "project_dir": project_dir, "role": role,
            "retrain_run_dirs": _retrain_run_dirs(hm, args),
            "val_per_class": args.val_per_class or default_val_per_class(resolved.dataset),
            "num_train": len(data.train), "num_val": len(data.val),
            "config": hm.template.to_dict(),
        }, indent=2, default=str))
        return 0
    if (role != "worker" and os.path.isdir(project_dir) and os.listdir(project_dir)
            and not (args.resume or args.overwrite)):
        raise ValueError(
            f"{project_dir} holds a search already: --resume to continue it, --overwrite to "
            "start afresh, or --project-name for another one."
        )
    result = run_search(
        config, method=method, tuner=args.tuner, max_trials=args.max_trials,
        val_per_class=args.val_per_class, directory=args.directory,
        project_name=args.project_name, overwrite=args.overwrite and role != "worker",
        search_space=search_space, fixed=fixed, post_hoc_tau=post_hoc_tau,
        retrain=not args.no_retrain, strategy=args.strategy, output_dir=args.output_dir,
        run_name=args.run_name, wait_timeout=args.worker_timeout,
        verbose=0 if args.quiet else 1,
    )
    print(json.dumps({
        "role": result.role, "best_trial_id": result.best_trial_id,
        "best_hyperparameters": result.best_values, "best_val_balanced_accuracy":
        result.best_score, "post_hoc_tau": result.tau, "trials_table": result.files.get("csv"),
        "run_dir": result.run_dir,
        "test_balanced_accuracy": (result.report or {}).get("balanced_accuracy"),
    }, default=str))
    return 0
