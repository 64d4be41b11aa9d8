"""`ClassBalancedHyperModel`: the class-balanced loss's loss type, beta and gamma.

Search space (the grid of Cui et al., "Class-Balanced Loss Based on
Effective Number of Samples", CVPR 2019, sec. 5.2 and Table 2):

    loss_type  softmax | sigmoid | focal      -> method cb-<loss_type>
    beta       0.9, 0.99, 0.999, 0.9999       w_c proportional to (1 - beta) / (1 - beta^n_c)
    gamma      0.5, 1.0, 2.0                  focal exponent; only when loss_type = focal

`gamma` is a conditional hyper-parameter (KerasTuner `conditional_scope`):
trials with the softmax or sigmoid loss do not carry it, so the search does
not spend trials on a gamma that has no effect. Pin it with
`search_space={"gamma": [v]}`: KerasTuner keeps an unconditional
`hp.Fixed("gamma", v)` beside the conditional choice and samples the choice,
so that is refused.
"""

from keras_lt.tuning.base_hypermodel import LongTailHyperModel

LOSS_TYPES = ("softmax", "sigmoid", "focal")
BETAS = (0.9, 0.99, 0.999, 0.9999)
GAMMAS = (0.5, 1.0, 2.0)


class ClassBalancedHyperModel(LongTailHyperModel):
    """Tunes the class-balanced loss (Cui et al., CVPR 2019).

    Example:
        >>> hm = ClassBalancedHyperModel(data, TrainConfig("cifar10", epochs=200))
        >>> hm = ClassBalancedHyperModel(data, config, search_space={"loss_type": ["focal"]})
    """

    methods = ("cb-softmax", "cb-sigmoid", "cb-focal")
    main_hyperparameter = "beta"

    def __init__(self, data, config=None, method=None, search_space=None, **kwargs):
        # A specific cb-* method pins the loss type.
        search_space = dict(search_space or {})
        if method in self.methods:
            pinned = method[len("cb-"):]
            given = search_space.setdefault("loss_type", [pinned])
            if list(given) != [pinned]:
                raise ValueError(
                    f"Method {method!r} pins loss_type={pinned!r}, but search_space has "
                    f"loss_type={list(given)}: use method='cb' to search the loss type."
                )
        if "gamma" in search_space and "focal" not in search_space.get("loss_type", LOSS_TYPES):
            raise ValueError(
                "gamma is the focal exponent: the class-balanced loss types "
                f"{list(search_space['loss_type'])} do not use it."
            )
        super().__init__(data, config, method=method, search_space=search_space, **kwargs)

    def default_space(self):
        return {"loss_type": LOSS_TYPES, "beta": BETAS, "gamma": GAMMAS}

    def check_space(self, space):
        super().check_space(space)
        unknown = [t for t in space["loss_type"] if t not in LOSS_TYPES]
        if unknown:
            raise ValueError(f"`loss_type` values must be in {LOSS_TYPES}, got {unknown}.")

    def values(self, hp):
        loss_type = hp.Choice("loss_type", list(self.space["loss_type"]))
        values = {"loss_type": loss_type, "beta": hp.Choice("beta", list(self.space["beta"]))}
        if "focal" in self.space["loss_type"]:
            if any(p.name == "gamma" and not p.conditions for p in hp.space):
                raise ValueError(
                    "gamma is conditional on loss_type='focal': an unconditional "
                    "hp.Fixed('gamma', v) would be ignored by the search. Pin it with "
                    "search_space={'gamma': [v]} (keras-lt tune --fixed gamma=v)."
                )
            with hp.conditional_scope("loss_type", ["focal"]):
                gamma = hp.Choice("gamma", list(self.space["gamma"]))
            if loss_type == "focal":
                values["gamma"] = gamma
        return values

    def method_for(self, values):
        return f"cb-{values['loss_type']}"
