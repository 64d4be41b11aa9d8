"""`IBHyperModel`: the influence-balanced loss's alpha and the start of its second phase.

Park et al., "Influence-Balanced Loss for Imbalanced Visual
Classification", ICCV 2021: plain cross-entropy first, then the IB loss
lambda_y CE(z, y) / (||softmax(z) - onehot(y)||_1 ||h||_1 + eps) with
lambda_c = alpha (1 / n_c) / sum_k (1 / n_k). The paper introduces alpha
"for an adjustment" (sec. 4) and uses 1000 with the second phase from
epoch 100 of 200. The defaults bracket those:

    alpha        100, 500, 1000, 2000
    phase_epoch  25 %, 50 %, 75 % of the epochs   (fit knob: the `PhaseSwitch`
                                                  that turns the IB loss on)

The variant (ib, ib-cb with class-balanced weights, ib-focal) is the
`method` argument.
"""

from keras_lt.tuning.base_hypermodel import LongTailHyperModel, epochs_at

ALPHAS = (100.0, 500.0, 1000.0, 2000.0)
PHASE_FRACTIONS = (0.25, 0.5, 0.75)


class IBHyperModel(LongTailHyperModel):
    """Tunes the IB loss (Park et al., ICCV 2021)."""

    methods = ("ib", "ib-cb", "ib-focal")
    main_hyperparameter = "alpha"

    def default_space(self):
        return {"alpha": ALPHAS, "phase_epoch": epochs_at(PHASE_FRACTIONS, self.config.epochs)}
