"""`LDAMHyperModel`: LDAM's largest margin and logit scale, and the DRW start.

Search space (Cao et al., "Learning Imbalanced Datasets with
Label-Distribution-Aware Margin Loss", NeurIPS 2019). The paper tunes the
margin constant C (sec. 3.2) and normalises the logits with a scale s; the
reference code uses a largest margin of 0.5 and s = 30 and starts DRW at
the last learning-rate decay (epoch 160 of 200). The defaults bracket those:

    max_margin  0.1, 0.2, 0.3, 0.4, 0.5      Delta_c = C / n_c^(1/4), max_c Delta_c = max_margin
    scale       10, 20, 30, 40               z -> s * (cos - Delta_y onehot(y))
    drw_epoch   60 %, 70 %, 80 %, 90 % of the epochs   (fit knob; ldam-drw only)

`drw_epoch` is a schedule knob: it is applied in `fit` as the
`DeferredReweighting` callback of the method (class-balanced weights,
beta 0.9999, from that epoch on).
"""

from keras_lt.tuning.base_hypermodel import LongTailHyperModel, epochs_at

MAX_MARGINS = (0.1, 0.2, 0.3, 0.4, 0.5)
SCALES = (10.0, 20.0, 30.0, 40.0)
DRW_FRACTIONS = (0.6, 0.7, 0.8, 0.9)


class LDAMHyperModel(LongTailHyperModel):
    """Tunes LDAM (+ DRW) (Cao et al., NeurIPS 2019).

    Example:
        >>> hm = LDAMHyperModel(data, TrainConfig("cifar10"), method="ldam-drw")
    """

    methods = ("ldam-drw", "ldam")
    main_hyperparameter = "max_margin"

    def default_space(self):
        space = {"max_margin": MAX_MARGINS, "scale": SCALES}
        if self.method == "ldam-drw":
            space["drw_epoch"] = epochs_at(DRW_FRACTIONS, self.config.epochs)
        return space
