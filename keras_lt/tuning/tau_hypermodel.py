"""`TauHyperModel`: the post-hoc calibration exponent tau, tuned without retraining.

Ye et al., "Identifying and Compensating for Feature Deviation in
Imbalanced Deep Learning", 2020, eq. (5): a trained classifier predicts

    y^ = argmax_c  z_c / N_c^tau          (z_c = w_c . h, N_c the training count of c)

tau = 0 is the plain classifier; a larger tau favours the minor classes.
The CDT supplement B.6 selects tau (with gamma) on the held-out balanced
validation split. Here the trained model is fixed: its validation logits
are computed once, and each trial only rescales them, so a whole grid of
tau costs seconds.

    tau   0, 0.1, ..., 1.5     (16 values; `taus=` to change; the paper gives
                               no grid, its Figure 13 shows minor-class accuracy
                               rising with tau)

As a KerasTuner HyperModel, `build(hp)` returns the calibration as a
Keras model (`keras_lt.calibration.class_size_calibrated_model` over the
logits: logits -> logits / N^tau) and `fit(hp, model)` scores it on the
cached validation logits; `tune_tau(...)` runs the grid with KerasTuner's
`GridSearch` (afresh by default: a few taus on fixed logits take milliseconds).
"""

import numpy as np

from keras_lt.tuning.base_hypermodel import FEW_SHOT, OBJECTIVE, VALUE_CHECKS, kt, search_objective

TAUS = tuple(float(round(t, 4)) for t in np.linspace(0.0, 1.5, 16))


def calibrate_logits(logits, class_counts, tau):
    """z_c / N_c^tau, the class-size rule of eq. (5) (float64)."""
    counts = np.asarray(class_counts, dtype=np.float64)
    return np.asarray(logits, dtype=np.float64) / counts ** float(tau)


class TauHyperModel(kt.HyperModel):
    """Tunes tau of the N_c^tau rule on fixed validation logits.

    Args:
        logits: validation logits `[N, C]` of the trained model.
        labels: validation labels `[N]`.
        class_counts: training counts N_c of the model `[C]`.
        taus: the grid (default 0, 0.1, ..., 1.5).
        many, few: shot thresholds of the few-shot accuracy (default 100, 20).
    """

    main_hyperparameter = "tau"

    def __init__(self, logits, labels, class_counts, taus=TAUS, many=100, few=20, name=None):
        from keras_lt.evaluation.shot_groups import shot_groups
        from keras_lt.losses.class_weights import validate_class_counts

        super().__init__(name=name or "TauHyperModel")
        self.class_counts = validate_class_counts(class_counts)
        self.logits = np.asarray(logits, dtype=np.float32)
        self.labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        c = self.class_counts.size
        if self.logits.ndim != 2 or self.logits.shape[1] != c:
            raise ValueError(f"`logits` must have shape [N, {c}], got {self.logits.shape}.")
        if self.labels.size != self.logits.shape[0]:
            raise ValueError(f"{self.labels.size} labels for {self.logits.shape[0]} logits.")
        if self.labels.size == 0 or self.labels.min() < 0 or self.labels.max() >= c:
            raise ValueError(f"`labels` must be class ids in [0, {c}).")
        taus = tuple(float(t) for t in np.atleast_1d(taus))
        if not taus:
            raise ValueError("`taus` is empty.")
        VALUE_CHECKS["tau"]("tau", taus)
        self.taus = tuple(sorted(set(taus)))
        self.few_classes = shot_groups(self.class_counts, many=many, few=few)["few"]
        self.space = {"tau": self.taus}

    def declare_hyperparameters(self, hp):
        hp.Choice("tau", list(self.taus))

    def build(self, hp):
        import keras

        from keras_lt.calibration import class_size_calibrated_model

        tau = hp.Choice("tau", list(self.taus))
        logits = keras.Sequential(
            [keras.Input((self.class_counts.size,)), keras.layers.Identity()], name="logits")
        return class_size_calibrated_model(logits, self.class_counts, tau)

    def score(self, tau):
        """(balanced accuracy, few-shot accuracy or None) of tau on the validation logits."""
        from keras_lt.evaluation import mean_class_accuracy, per_class_accuracy

        predicted = np.argmax(calibrate_logits(self.logits, self.class_counts, tau), axis=-1)
        per_class = per_class_accuracy(self.labels, predicted, self.class_counts.size)
        balanced = mean_class_accuracy(per_class)
        few = mean_class_accuracy(per_class, self.few_classes) if self.few_classes.size else None
        return balanced, few

    def fit(self, hp, model, *args, **kwargs):
        balanced, few = self.score(hp.get("tau"))
        results = {OBJECTIVE: float(balanced)}
        if few is not None and np.isfinite(few):
            results[FEW_SHOT] = float(few)
        return results


def tune_tau(logits, labels, class_counts, directory, project_name="tau", taus=TAUS,
             overwrite=True, many=100, few=20):
    """Grid-searches tau with KerasTuner; returns `(best tau, tuner)`.

    The search lives in `directory/project_name`. It scores a handful of taus
    on fixed logits (milliseconds each), so it starts afresh by default: a
    resumed project would answer for the logits and taus it was first given.
    `overwrite=False` resumes it anyway.
    """
    from keras_lt.tuning.search import GridSearch

    class TauGridSearch(GridSearch):
        def _try_build(self, hp):
            # The calibration model is a handful of weights: skip KerasTuner's
            # clear_session and gc.collect before each build (~0.8 s a trial).
            return self._build_hypermodel(hp)

    hypermodel = TauHyperModel(logits, labels, class_counts, taus=taus, many=many, few=few)
    tuner = TauGridSearch(
        hypermodel,
        objective=search_objective(),
        max_trials=len(hypermodel.taus),
        directory=directory,
        project_name=project_name,
        overwrite=overwrite,
    )
    tuner.search(verbose=0)
    from keras_lt.tuning.trials_table import best_trial, read_trials

    best = best_trial(read_trials(tuner.project_dir))
    return float(best["hyperparameters"]["tau"]), tuner
