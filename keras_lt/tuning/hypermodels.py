"""The HyperModel of each `keras-lt tune --method`.

    method                         HyperModel               tuned (defaults: the papers')
    cb (loss type tuned),          ClassBalancedHyperModel  loss_type, beta, gamma (focal)
      cb-softmax|sigmoid|focal
    ldam-drw, ldam                 LDAMHyperModel           max_margin, scale, drw_epoch (fit)
    cdt                            CDTHyperModel            gamma over the dataset's range
    ib, ib-cb, ib-focal            IBHyperModel             alpha, phase_epoch (fit)
    mfw, mfw-drw                   MFWHyperModel            alpha, mfw_layer
    any other method (erm, ...)    LongTailHyperModel       nothing: one trial (then tau)
    + post-hoc (any method)        TauHyperModel            tau of z_c / N_c^tau (no retraining)
"""

from keras_lt.tuning.base_hypermodel import LongTailHyperModel
from keras_lt.tuning.cdt_hypermodel import CDTHyperModel
from keras_lt.tuning.class_balanced_hypermodel import ClassBalancedHyperModel
from keras_lt.tuning.ib_hypermodel import IBHyperModel
from keras_lt.tuning.ldam_hypermodel import LDAMHyperModel
from keras_lt.tuning.mfw_hypermodel import MFWHyperModel

HYPERMODELS = {
    "cb": ClassBalancedHyperModel,
    "cb-softmax": ClassBalancedHyperModel,
    "cb-sigmoid": ClassBalancedHyperModel,
    "cb-focal": ClassBalancedHyperModel,
    "ldam-drw": LDAMHyperModel,
    "ldam": LDAMHyperModel,
    "cdt": CDTHyperModel,
    "ib": IBHyperModel,
    "ib-cb": IBHyperModel,
    "ib-focal": IBHyperModel,
    "mfw": MFWHyperModel,
    "mfw-drw": MFWHyperModel,
}


def make_hypermodel(method, data, config=None, **kwargs):
    """The HyperModel for `method` (a `keras-lt train` method, or "cb")."""
    from keras_lt.training.methods import get_method

    if method != "cb":
        get_method(method)
    cls = HYPERMODELS.get(method, LongTailHyperModel)
    return cls(data, config, method=None if method == "cb" else method, **kwargs)
