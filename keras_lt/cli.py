"""The `keras-lt` command: train, evaluate, tune, and the embedded demo.

    keras-lt                                   the embedded demo (no download)
    keras-lt demo [--epochs N]                 the same, with options
    keras-lt train DATASET --method M [--epochs N] [--data-dir D] ...
    keras-lt evaluate saved_models/RUN --data-dir D
    keras-lt tune ...                          (keras_lt.tuning.cli, when installed)
    keras-lt methods                           the method table

The recipes in `recipes/` call `recipe_main(dataset)`, which is `keras-lt
train DATASET` with the dataset fixed: both share one code path,
`keras_lt.training.experiment.train(TrainConfig)`.
"""

import argparse
import difflib
import json
import os
import re
import sys
import warnings

from keras_lt.data.tfds_source import DatasetUnavailableError
from keras_lt.losses.influence_balanced import FOCAL_PROBABILITIES
from keras_lt.training.config import DATASETS, RUN_SETTINGS, STRATEGIES, TrainConfig
from keras_lt.training.methods import METHODS

IMBALANCE_CHOICES = ("exp", "step", "natural")


def _method_help():
    width = max(len(name) for name in METHODS)
    return "\n".join(f"  {name:<{width}}  {m.summary}" for name, m in METHODS.items())


def dataset_default(field, dataset=None):
    """"default X" of a `DatasetDefaults` field, for `dataset` or per dataset:
    "default 128 on cifar10, cifar100, tiny_imagenet; 512 on inaturalist2018; ..."."""
    def shown(value):
        return f"{value:g}" if isinstance(value, float) else str(value)

    if dataset is not None:
        return f"default {shown(getattr(DATASETS[dataset], field))}"
    groups = {}
    for name, defaults in DATASETS.items():
        groups.setdefault(shown(getattr(defaults, field)), []).append(name)
    return "default " + "; ".join(f"{v} on {', '.join(names)}" for v, names in groups.items())


def add_train_arguments(parser, dataset=None):
    """The options of `keras-lt train` (and of every recipe)."""
    if dataset is None:
        parser.add_argument("dataset", nargs="?", choices=sorted(DATASETS),
                            help="dataset to train on (with --config: the config's)")
    parser.add_argument("--method", choices=list(METHODS), metavar="METHOD",
                        help="training method (default erm); one of: " + ", ".join(METHODS))
    data = parser.add_argument_group("data")
    data.add_argument("--data-dir", help="dataset folder (train/ and test/ class folders)")
    data.add_argument("--imbalance", choices=IMBALANCE_CHOICES,
                      help="long-tailed ('exp', the default) or step imbalance; "
                      "iNaturalist is 'natural' (used as it is)")
    data.add_argument("--ratio", type=float,
                      help="imbalance ratio n_max / n_min (dataset default, 100 on CIFAR)")
    data.add_argument("--minority-fraction", type=float,
                      help="fraction of minority classes for step imbalance (default 0.5)")
    hp = parser.add_argument_group(
        "method hyper-parameters (default: the paper's value for the method and dataset)")
    hp.add_argument("--beta", type=float, help="class-balanced / DRW beta (0.9999; cb-focal: 0.9 on "
                    "CIFAR-100, 0.999 on iNaturalist; Cui et al.'s Table 2 best at its ratios)")
    hp.add_argument("--gamma", type=float,
                    help="focal gamma (1.0; cb-focal on iNaturalist 0.5, and Cui et al.'s "
                    "Table 2 best at its ratios) or CDT temperature exponent (per dataset)")
    hp.add_argument("--alpha", type=float, help="IB alpha (1000) or MFW Beta(alpha, alpha) (2.0)")
    hp.add_argument("--max-margin", type=float, help="LDAM largest margin (0.5)")
    hp.add_argument("--scale", type=float, help="LDAM logit scale s (30)")
    hp.add_argument("--mfw-beta", type=float, help="MFW weight softness (2.0 exp, 0.01 step)")
    hp.add_argument("--mfw-layer",
                    help="backbone block after which MFW mixes features (stage1; "
                    "stem, stage1, stage2, stage3 on the CIFAR ResNets, up to stage4 on "
                    "ResNet-18/50)")
    hp.add_argument("--drw-epoch", type=int,
                    help="epoch at which deferred re-weighting starts, counted from 0 (the main "
                    "LR decay, 160 of 200 on CIFAR, i.e. from the 161st epoch; 80%% of the "
                    "epochs for mfw-drw)")
    hp.add_argument("--phase-epoch", type=int,
                    help="epoch at which the IB loss (or a delayed CDT gamma) switches on, "
                    "counted from 0 (per method and dataset: --dry-run shows it)")
    hp.add_argument("--phase-lr-factor", type=float,
                    help="multiplier of the learning rate from --phase-epoch on (IB on CIFAR: "
                    "0.01, the reference code's fine-tuning rate; 1 keeps the schedule, as "
                    "Park et al.'s own Tiny-ImageNet and iNaturalist schedules do)")
    hp.add_argument("--focal-probability", choices=FOCAL_PROBABILITIES,
                    help="ib-focal's q in (1 - q)^gamma: class_weighted (p_y^w_y, the IB "
                    "reference code's, default) or softmax (p_y, as in the focal loss)")
    sched = parser.add_argument_group(
        "network and schedule (the dataset's defaults below; some methods set their own, e.g. "
        "IB on Tiny-ImageNet and iNaturalist: --dry-run shows a run's; milestones, warm-up and "
        "phase switches scale with --epochs)")
    sched.add_argument("--epochs", type=int,
                       help=f"number of epochs ({dataset_default('epochs', dataset)})")
    sched.add_argument("--batch-size", type=int,
                       help=f"images per step ({dataset_default('batch_size', dataset)})")
    sched.add_argument("--lr", type=float,
                       help=f"peak learning rate ({dataset_default('lr', dataset)})")
    sched.add_argument("--warmup-epochs", type=int,
                       help="epochs of linear learning-rate warm-up "
                       f"({dataset_default('warmup_epochs', dataset)})")
    sched.add_argument("--milestones", type=_int_list,
                       help="comma-separated learning-rate decay epochs, counted from 0, e.g. "
                       "160,180")
    sched.add_argument("--lr-factors", type=_float_list,
                       help="comma-separated cumulative LR multipliers, e.g. 0.01,0.0001")
    sched.add_argument("--weight-decay", type=float,
                       help=f"L2 weight decay ({dataset_default('weight_decay', dataset)})")
    sched.add_argument("--backbone",
                       help=f"backbone name ({dataset_default('backbone', dataset)})")
    run = parser.add_argument_group("run")
    run.add_argument("--seed", type=int, help="seed of the data subset, weights and order (0)")
    run.add_argument("--strategy", choices=STRATEGIES,
                     help="none (the default), mirrored (all local devices) or multiworker "
                     "(TF_CONFIG)")
    run.add_argument("--output-dir",
                     help="root of saved models (default saved_models/)")
    run.add_argument("--run-name",
                     help="folder name (default <dataset>-<imbalance><ratio>-<method>-e<epochs>"
                          "-s<seed>, e.g. cifar10-exp100-ldam-drw-e200-s0; step data with "
                          "another minority fraction adds -mu<fraction>)")
    run.add_argument("--resume", action="store_true",
                     help="continue from the run folder's last checkpoint")
    run.add_argument("--dry-run", action="store_true",
                     help="print the full configuration, the method's pieces and what training "
                          "would do with the run folder; do not train")
    run.add_argument("--config", help="run a saved config.json again (only --data-dir, "
                     "--output-dir, --run-name, --resume, --strategy, --no-monitor, --quiet "
                     "may change)")
    run.add_argument("--no-monitor", dest="monitor", action="store_false", default=None,
                     help="do not show the test split's accuracy after each epoch")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bar or report on screen; one line at the end gives the "
                     "run folder and its top-1")
    parser.set_defaults(command="train", fixed_dataset=dataset)
    return parser


def _int_list(text):
    return [int(v) for v in text.split(",") if v.strip()]


def _float_list(text):
    return [float(v) for v in text.split(",") if v.strip()]


_CONFIG_FIELDS = (
    "method", "data_dir", "imbalance", "ratio", "minority_fraction", "beta", "gamma", "alpha",
    "max_margin", "scale", "mfw_beta", "mfw_layer", "drw_epoch", "phase_epoch", "phase_lr_factor",
    "focal_probability", "epochs", "batch_size", "lr", "warmup_epochs", "milestones", "lr_factors",
    "weight_decay", "backbone", "seed", "strategy", "output_dir", "run_name", "monitor",
)


_RERUN_FIELDS = set(RUN_SETTINGS) - {"backend"}  # the backend comes from KERAS_BACKEND


def config_from_args(args):
    """A `TrainConfig` (unresolved) from parsed `train` arguments.

    Options left out are None here and take TrainConfig's defaults, or the
    values of the `--config` file when one is given.
    """
    dataset = args.fixed_dataset or args.dataset
    given = {name: getattr(args, name) for name in _CONFIG_FIELDS}
    given = {name: value for name, value in given.items() if value is not None}
    given["resume"] = args.resume
    given["verbose"] = 0 if args.quiet else 1
    if args.config:
        # A saved config.json is resolved: its schedule, phases and folder name
        # follow from its method and epochs, so only where and how it runs may
        # change.
        try:
            base = TrainConfig.from_json(args.config).to_dict()
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"--config {args.config}: cannot read it as a saved "
                             f"config.json ({error}).") from error
        dataset = dataset or base["dataset"]
        if base["dataset"] != dataset:
            raise ValueError(f"{args.config} is a {base['dataset']} config, not {dataset}.")
        changed = sorted(set(given) - _RERUN_FIELDS)
        if changed:
            raise ValueError(
                f"--config reruns {args.config} as it is; it cannot change "
                f"{', '.join(f'`{name}`' for name in changed)} (only --data-dir, --output-dir, "
                "--run-name, --resume, --strategy, --no-monitor and --quiet may change)."
            )
        if base["dataset"] == "digits" and base.get("data_dir") and "data_dir" not in given:
            # Earlier versions accepted a folder for digits and read none: leave it out.
            print(f"keras-lt: {args.config} names a data folder for digits, which reads none; "
                  "it is left out.", file=sys.stderr)
            base["data_dir"] = None
        base.update(given)
        config = TrainConfig.from_dict(base)
        from keras_lt.evaluation.report import REPORT_FILE

        finished = os.path.join(config.run_dir, REPORT_FILE)
        if not args.resume and os.path.exists(finished):
            raise ValueError(
                f"--config would train again into {config.run_dir}, over the finished run "
                "it came from; give --run-name (or --output-dir) to rerun it beside that one."
            )
        return config
    if dataset is None:
        raise ValueError("Give the dataset to train on (e.g. `keras-lt train cifar10`), or "
                         "--config with a saved config.json.")
    return TrainConfig(dataset=dataset, **given)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-lt",
        description="Long-tailed classification with Keras 3. With no command, runs the "
        "embedded demo (digits made long-tailed, no download).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="methods:\n" + _method_help(),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser("train", help="train a model with a long-tail method",
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog="methods:\n" + _method_help())
    add_train_arguments(train)

    ev = sub.add_parser("evaluate", help="reload a saved model and report on other data")
    ev.add_argument("model", help="saved model folder (saved_models/RUN) or its .keras file")
    ev.add_argument("--data-dir", help="dataset folder; default: the model's training data")
    ev.add_argument("--dataset", choices=sorted(DATASETS),
                    help="dataset kind of --data-dir (default: the model's)")
    ev.add_argument("--split", default="test", choices=("test", "train"),
                    help="split to evaluate: test (default; iNaturalist's and Tiny-ImageNet's "
                    "val) or train")
    ev.add_argument("--output", help="folder for the report (default: <model "
                    "folder>/eval-<data folder or dataset name>-<split>)")
    ev.add_argument("--batch-size", type=int, default=256)
    ev.set_defaults(command="evaluate")

    demo = sub.add_parser(
        "demo", help="the embedded default job (no download)",
        description="Trains each method on long-tailed scikit-learn digits (8x8 images, no "
        "download, small enough for a CPU) and prints their balanced test accuracy side by "
        "side, overall, per shot group and per class. `keras-lt` with no command runs it.")
    _add_demo_arguments(demo)

    methods = sub.add_parser("methods", help="list the methods")
    methods.set_defaults(command="methods")

    _add_tune_parser(sub)
    return parser


def _add_demo_arguments(parser):
    from keras_lt.training import demo

    parser.add_argument("--methods", type=lambda t: t.split(","), default=list(demo.DEMO_METHODS),
                        help="comma-separated methods to compare (default "
                        f"{','.join(demo.DEMO_METHODS)})")
    parser.add_argument("--epochs", type=int,
                        help=f"epochs per method ({dataset_default('epochs', 'digits')})")
    parser.add_argument("--ratio", type=float,
                        help="imbalance ratio of the digits "
                        f"({dataset_default('ratio', 'digits')})")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the data subset, weights and order (default 0)")
    parser.add_argument("--output-dir", default="saved_models",
                        help="root of the runs' folders (default saved_models/)")
    parser.add_argument("--quiet", action="store_true",
                        help="print only the comparison table at the end")
    parser.set_defaults(command="demo")


def _add_tune_parser(sub):
    """`keras-lt tune`, supplied by keras_lt.tuning.cli when that module exists."""
    try:
        from keras_lt.tuning.cli import add_tune_parser
    except ImportError as error:
        if getattr(error, "name", None) not in ("keras_lt.tuning.cli",):
            raise
        tune = sub.add_parser("tune", help="hyper-parameter search (not available)")
        tune.set_defaults(command="tune-missing")
        return
    add_tune_parser(sub)


def _run_train(args):
    from keras_lt.training import experiment

    config = config_from_args(args)
    if args.dry_run:
        plan = experiment.plan(config)
        print(json.dumps(plan, indent=2, sort_keys=True, default=str))
        return 0
    _, report, run_dir = experiment.train(config)
    if args.quiet:  # the report is in the run folder; say where, and the headline
        def percent(value):
            return "n/a" if value is None else f"{100 * value:.2f} %"

        print(f"{run_dir}: top-1 {percent(report['top1'])}, mean per-class "
              f"{percent(report['balanced_accuracy'])}")
    return 0


def _run_evaluate(args):
    from keras_lt.training import experiment

    experiment.evaluate(
        args.model, data_dir=args.data_dir, dataset=args.dataset, split=args.split,
        output_dir=args.output, batch_size=args.batch_size,
    )
    return 0


def _run_demo(args):
    from keras_lt.training import demo

    demo.run_demo(methods=args.methods, epochs=args.epochs, ratio=args.ratio, seed=args.seed,
                  output_dir=args.output_dir, verbose=0 if args.quiet else 1)
    return 0


def _dispatch(args):
    if args.command == "train":
        return _run_train(args)
    if args.command == "evaluate":
        return _run_evaluate(args)
    if args.command == "demo":
        return _run_demo(args)
    if args.command == "methods":
        print(_method_help())
        return 0
    if args.command == "tune-missing":
        print("keras-lt tune: keras_lt.tuning.cli is not available in this installation.",
              file=sys.stderr)
        return 2
    # Subcommands added by other modules carry their own handler.
    return args.func(args)


def _raised_by_keras_lt(error):
    """Whether the innermost frame of `error`'s traceback is keras_lt code."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and _is_keras_lt_file(tb.tb_frame.f_code.co_filename)


def _is_keras_lt_file(filename):
    package = os.path.dirname(os.path.abspath(__file__))
    return os.path.abspath(filename).startswith(package + os.sep)


def _warned_by_keras_lt():
    """Whether the warning being shown was issued by keras_lt code: the frame
    that called `warnings.warn`, above the formatter and the warnings module."""
    frame = sys._getframe(2)  # above `format_warning` in `_main`
    while frame is not None and frame.f_globals.get("__name__") in ("warnings", "_py_warnings"):
        frame = frame.f_back  # (Python 3.14 moves the module's code into _py_warnings)
    return frame is not None and _is_keras_lt_file(frame.f_code.co_filename)


def _in_option_terms(message, parser, command):
    """`message` with each backquoted setting of `command` written as its option:
    the library says "`batch_size` must be ...", the command line "`--batch-size`"."""
    parser = _command_parser(parser, command)
    options = {a.dest: a.option_strings[0] for a in parser._actions
               if a.option_strings and a.option_strings[0].startswith("--")}
    return re.sub(r"`([a-z_]+)`",
                  lambda m: f"`{options[m.group(1)]}`" if m.group(1) in options else m.group(0),
                  message)


def _command_parser(parser, command):
    """The sub-parser of `command` (a recipe's parser is its own)."""
    for action in parser._actions:  # argparse keeps its subparsers here
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return parser


def _parse(parser, argv):
    """`parser.parse_args(argv)`, but an unknown option is reported by the
    command's own parser (its usage, not keras-lt's), with the closest option."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        command = _command_parser(parser, getattr(args, "command", None))
        options = [o for a in command._actions for o in a.option_strings]
        close = difflib.get_close_matches(unknown[0].split("=")[0], options, n=1)
        command.error(f"unrecognized arguments: {' '.join(unknown)}"
                      + (f" (did you mean {close[0]}?)" if close else ""))
    return args


def _main(parser, argv):
    args = _parse(parser, argv)
    if args.command is None:  # plain `keras-lt`: the embedded demo
        args = parser.parse_args(["demo"])
    original_format = warnings.formatwarning

    def format_warning(message, category, filename, lineno, line=None):
        # keras_lt's own warnings as `keras-lt: warning: ...` in the command's terms,
        # without a source line; other libraries' as Python shows them. (Formatting
        # only: a caller that records warnings still gets them.)
        if _warned_by_keras_lt():
            text = _in_option_terms(str(message), parser, args.command)
            return f"keras-lt: warning: {text}\n"
        return original_format(message, category, filename, lineno, line)

    warnings.formatwarning = format_warning
    try:
        return _dispatch(args)
    except (ValueError, FileNotFoundError, NotADirectoryError, DatasetUnavailableError) as error:
        # Configuration and data errors: a clear message, no traceback
        # (KERAS_LT_DEBUG=1 shows it).
        if os.environ.get("KERAS_LT_DEBUG"):
            raise
        message = str(error)
        if _raised_by_keras_lt(error):  # a library's own message is left as it is
            message = _in_option_terms(message, parser, args.command)
        if len(message) > 2000:
            message = message[:2000] + " ..."
        print(f"keras-lt: error: {message}\n(set KERAS_LT_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("keras-lt: interrupted; the last epoch's checkpoint is kept "
              "(continue with --resume).", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = original_format


def main(argv=None):
    """Entry point of the `keras-lt` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    return _main(build_parser(), argv)


def recipe_main(dataset, argv=None):
    """`keras-lt train DATASET ...` with the dataset fixed, for recipes/*.py."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        prog=f"{dataset} recipe",
        description=f"Train on long-tailed {dataset} with the papers' settings.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="methods:\n" + _method_help(),
    )
    add_train_arguments(parser, dataset=dataset)
    return _main(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
