"""`CDTHyperModel`: the class-dependent temperature exponent gamma.

Ye et al., "Identifying and Compensating for Feature Deviation in
Imbalanced Deep Learning", 2020: a_c = (n_max / n_c)^gamma, training on
z_c / a_c. The paper's range of gamma depends on the data set (METHODS.md):

    CIFAR-10                       [0, 0.4]
    CIFAR-100, Tiny-ImageNet       [0, 0.2]
    iNaturalist 2018               [0, 0.1]
    (digits, the embedded set: 10 classes like CIFAR-10: [0, 0.4])

The default search space is 9 evenly spaced values over that range
(0, 0.05, ..., 0.4 on CIFAR-10), a grid a `GridSearch` covers exactly.
On iNaturalist, gamma stays 0 for the first half of training (the method's
`phase_epoch` default, a `PhaseSwitch` callback), as in the paper.
"""

import numpy as np

from keras_lt.tuning.base_hypermodel import LongTailHyperModel

GAMMA_RANGES = {
    "cifar10": 0.4,
    "cifar100": 0.2,
    "tiny_imagenet": 0.2,
    "inaturalist2018": 0.1,
    "digits": 0.4,
}
NUM_GAMMAS = 9


def gamma_grid(dataset, num=NUM_GAMMAS, gamma_max=None):
    """`num` evenly spaced gammas over the paper's range [0, gamma_max] of `dataset`."""
    top = GAMMA_RANGES.get(dataset, 0.4) if gamma_max is None else float(gamma_max)
    if not top > 0 or int(num) < 2:
        raise ValueError(f"Need gamma_max > 0 and num >= 2, got {gamma_max!r}, {num!r}.")
    return tuple(float(round(g, 6)) for g in np.linspace(0.0, top, int(num)))


class CDTHyperModel(LongTailHyperModel):
    """Tunes CDT's gamma over the paper's range for the data set.

    Args:
        gamma_max: upper end of the gamma range (default: by dataset, above).
        **kwargs: as `LongTailHyperModel`.
    """

    methods = ("cdt",)
    main_hyperparameter = "gamma"

    def __init__(self, data, config=None, gamma_max=None, **kwargs):
        self.gamma_max = gamma_max
        super().__init__(data, config, **kwargs)

    def default_space(self):
        return {"gamma": gamma_grid(self.config.dataset, gamma_max=self.gamma_max)}
