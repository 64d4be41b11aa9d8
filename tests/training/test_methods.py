"""The method table: each name builds the paper's loss, head, sampler and phases."""

import numpy as np
import pytest

from keras_lt import callbacks, losses
from keras_lt.training.config import TrainConfig
from keras_lt.training.methods import METHODS, get_method

COUNTS = np.array([5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50])
ALL = ("erm", "rw", "rs", "focal", "cb-softmax", "cb-sigmoid", "cb-focal", "ldam", "ldam-drw",
       "erm-drw", "ib", "ib-cb", "ib-focal", "cdt", "mfw", "mfw-drw")


def build(method, **kwargs):
    config = TrainConfig(dataset="cifar10", method=method, **kwargs).resolve()
    m = get_method(method)
    return config, m, m.build_loss(config, COUNTS), m.build_callbacks(config, COUNTS)


def test_the_table_has_exactly_the_issue_methods():
    assert tuple(METHODS) == ALL


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(ValueError) as error:
        get_method("ldam-drs")
    assert "Unknown method 'ldam-drs'" in str(error.value)
    for name in ALL:
        assert name in str(error.value)


def test_erm_is_unweighted_cross_entropy():
    config, m, loss, cbs = build("erm")
    assert isinstance(loss, losses.WeightedCrossEntropy)
    np.testing.assert_allclose(np.asarray(loss.class_weights), np.ones(10))
    assert (m.head, m.sampler, m.feature_weakening, cbs) == ("dense", "shuffle", False, [])


def test_rw_weights_by_inverse_frequency():
    _, _, loss, _ = build("rw")
    expected = (1.0 / COUNTS) / (1.0 / COUNTS).sum() * 10  # sums to C
    np.testing.assert_allclose(np.asarray(loss.class_weights), expected, rtol=1e-5)


def test_rs_resamples_class_balanced():
    _, m, loss, _ = build("rs")
    assert m.sampler == "class_balanced" and isinstance(loss, losses.WeightedCrossEntropy)


def test_focal_defaults_to_gamma_one():
    config, _, loss, _ = build("focal")
    assert isinstance(loss, losses.FocalLoss) and loss.gamma == 1.0 == config.gamma


@pytest.mark.parametrize("method, loss_type, head", [
    ("cb-softmax", "softmax", "dense"),
    ("cb-sigmoid", "sigmoid", "prior_bias"),
    ("cb-focal", "focal", "prior_bias"),
])
def test_class_balanced_variants(method, loss_type, head):
    config, m, loss, _ = build(method)
    assert isinstance(loss, losses.ClassBalancedLoss)
    assert (loss.loss_type, loss.beta, m.head) == (loss_type, 0.9999, head)
    if loss_type == "focal":
        assert loss.gamma == 1.0  # the paper's best CIFAR-10-LT setting
    beta = 0.9999
    w = (1 - beta) / (1 - beta ** COUNTS.astype(float))
    np.testing.assert_allclose(np.asarray(loss.class_weights), w / w.sum() * 10, rtol=1e-5)


def test_ldam_and_ldam_drw():
    config, m, loss, cbs = build("ldam")
    assert isinstance(loss, losses.LDAMLoss) and m.head == "cosine" and cbs == []
    assert (config.max_margin, config.scale) == (0.5, 30.0)
    config, m, loss, cbs = build("ldam-drw")
    (drw,) = cbs
    assert isinstance(drw, callbacks.DeferredReweighting)
    assert drw.start_epoch == 160 and drw.beta == 0.9999  # Cao et al.: epoch 160 of 200
    _, _, _, (drw30,) = build("ldam-drw", epochs=30)
    assert drw30.start_epoch == 24


def test_erm_drw_switches_cross_entropy_weights():
    _, m, loss, (drw,) = build("erm-drw")
    assert isinstance(loss, losses.WeightedCrossEntropy) and m.head == "dense"
    assert drw.start_epoch == 160


@pytest.mark.parametrize("method, weighting, base", [
    ("ib", "inverse_frequency", "cross_entropy"),
    ("ib-cb", "effective_number", "cross_entropy"),
    ("ib-focal", "inverse_frequency", "focal"),
])
def test_ib_variants_start_with_cross_entropy(method, weighting, base):
    config, _, loss, (switch,) = build(method)
    assert isinstance(loss, losses.IBLoss)
    assert (loss.alpha, loss.weighting, loss.base_loss) == (1000.0, weighting, base)
    assert float(np.asarray(loss.ib_active)) == 0.0  # first phase: plain CE
    assert isinstance(switch, callbacks.PhaseSwitch)
    assert switch.state_at(99)[0][1] is None and switch.state_at(100)[0][1] == 1.0  # Park et al.
    assert config.phase_epoch == 100
    if method == "ib-focal":
        # The reference code's q = p_y^{w_y}, which trained park21's 79.76.
        assert config.focal_probability == loss.focal_probability == "class_weighted"
    else:
        assert config.focal_probability is None


def test_ib_focal_takes_the_focal_losss_probability_on_request():
    config, _, loss, _ = build("ib-focal", focal_probability="softmax")
    assert config.focal_probability == loss.focal_probability == "softmax"
    with pytest.raises(ValueError, match="does not use `focal_probability`"):
        build("ib", focal_probability="class_weighted")


def test_cdt_gamma_per_dataset_and_delayed_on_inaturalist():
    config, _, loss, cbs = build("cdt")
    assert isinstance(loss, losses.CDTLoss) and cbs == []
    assert config.gamma == 0.3 and float(np.asarray(loss.gamma)) == pytest.approx(0.3)
    c100 = TrainConfig(dataset="cifar100", method="cdt").resolve()
    assert 0 < c100.gamma <= 0.2
    inat = TrainConfig(dataset="inaturalist2018", method="cdt").resolve()
    m = get_method("cdt")
    loss = m.build_loss(inat, COUNTS)
    (switch,) = m.build_callbacks(inat, COUNTS)
    # Ye et al. suppl. A.4: gamma 0 for the first 45 of 90 epochs.
    assert float(np.asarray(loss.gamma)) == 0.0 and inat.phase_epoch == 45
    assert switch.state_at(45)[0][1] == inat.gamma


def test_mfw_settings_by_imbalance_type():
    config, m, loss, cbs = build("mfw")
    assert m.feature_weakening and cbs == [] and (config.alpha, config.mfw_beta) == (2.0, 2.0)
    step = TrainConfig(dataset="cifar10", method="mfw", imbalance="step").resolve()
    assert step.mfw_beta == 0.01
    config, _, _, (drw,) = build("mfw-drw")
    assert drw.start_epoch == 160  # 80% of 200 epochs
    _, _, _, (drw30,) = build("mfw-drw", epochs=30)
    assert drw30.start_epoch == 24


def test_method_hyperparameters_reach_the_loss():
    _, _, loss, _ = build("cb-focal", beta=0.99, gamma=2.0)
    assert (loss.beta, loss.gamma) == (0.99, 2.0)
    _, _, loss, (drw,) = build("ldam-drw", max_margin=0.3, scale=10.0, drw_epoch=7)
    assert drw.start_epoch == 7
    np.testing.assert_allclose(float(np.max(losses.ldam_margins(COUNTS, 0.3))), 0.3)
    _, _, loss, _ = build("ib", alpha=100.0, phase_epoch=0)
    assert loss.alpha == 100.0 and float(np.asarray(loss.ib_active)) == 1.0


def test_class_balanced_settings_per_dataset_follow_cui():
    # Cui et al. 2019 Table 2: the best CB loss at ratio 100 is focal with beta 0.9999
    # on CIFAR-10-LT and beta 0.9 on CIFAR-100-LT (gamma 1.0 both); Table 3: CB focal
    # on iNaturalist with beta 0.999, gamma 0.5; sec. 5.2: focal at 4 x the learning
    # rate on iNaturalist (this recipe's softmax rate: 0.2).
    def resolved(dataset, method, **kw):
        c = TrainConfig(dataset=dataset, method=method, **kw).resolve()
        return c.beta, c.gamma, c.lr

    assert resolved("cifar10", "cb-focal") == (0.9999, 1.0, 0.1)
    assert resolved("cifar100", "cb-focal") == (0.9, 1.0, 0.1)
    assert resolved("inaturalist2018", "cb-focal") == (0.999, 0.5, 0.8)
    assert resolved("inaturalist2018", "cb-focal", lr=0.2, beta=0.9999) == (0.9999, 0.5, 0.2)
    assert resolved("inaturalist2018", "erm")[2] == 0.2
    # The DRW beta is Cao et al.'s 0.9999 everywhere, and reaches the loss.
    assert resolved("cifar100", "ldam-drw")[0] == 0.9999
    config = TrainConfig(dataset="cifar100", method="cb-focal").resolve()
    loss = get_method("cb-focal").build_loss(config, np.full(100, 50))
    assert (loss.beta, loss.gamma) == (0.9, 1.0)


def test_class_balanced_settings_follow_cui_table2_at_its_other_ratios():
    # Cui et al. 2019 Table 2, "Loss Type", beta and gamma rows, read from the paper:
    # CIFAR-10 50: focal 0.9999 / 2.0; 10: sigmoid 0.9999; CIFAR-100 50: sigmoid 0.99;
    # 20: focal 0.99 / 0.5; 10: focal 0.999 / 0.5.
    def resolved(dataset, method, ratio, **kw):
        c = TrainConfig(dataset=dataset, method=method, ratio=ratio, **kw).resolve()
        return c.beta, c.gamma

    assert resolved("cifar10", "cb-focal", 50) == (0.9999, 2.0)
    assert resolved("cifar10", "cb-sigmoid", 10) == (0.9999, None)
    assert resolved("cifar100", "cb-sigmoid", 50) == (0.99, None)
    assert resolved("cifar100", "cb-focal", 20) == (0.99, 0.5)
    assert resolved("cifar100", "cb-focal", 10.0) == (0.999, 0.5)
    # Where another loss type won, or off the table, the per-dataset default stays.
    assert resolved("cifar100", "cb-softmax", 50) == (0.9999, None)
    assert resolved("cifar100", "cb-focal", 50) == (0.9, 1.0)
    assert resolved("cifar10", "cb-focal", 30) == (0.9999, 1.0)
    assert resolved("cifar100", "cb-focal", 10, imbalance="step") == (0.9, 1.0)
    # Given values win.
    assert resolved("cifar100", "cb-focal", 10, beta=0.9, gamma=2.0) == (0.9, 2.0)


def test_the_recipes_optimizer_keeps_the_prior_bias_out_of_weight_decay():
    # Cui et al. sec. 4.3: the sigmoid losses start from b = -log((1 - pi) / pi);
    # decaying it toward 0 would undo that. One step with zero gradients: only
    # weight decay moves a variable.
    import keras

    from keras_lt.models import build_model
    from keras_lt.training import experiment

    backbone = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, name="body")])
    model = build_model(backbone, 7, input_shape=(5,), head="prior_bias")
    config = TrainConfig(dataset="cifar10", method="cb-focal", weight_decay=0.5,
                         warmup_epochs=0).resolve()
    optimizer = experiment.build_optimizer(config, 3, model)
    before = {v.path: keras.ops.convert_to_numpy(v).copy() for v in model.trainable_variables}
    optimizer.apply([keras.ops.zeros(v.shape) for v in model.trainable_variables],
                    model.trainable_variables)
    after = {v.path: keras.ops.convert_to_numpy(v) for v in model.trainable_variables}
    bias, kernel = model.head.bias.path, model.head.kernel.path
    np.testing.assert_array_equal(after[bias], before[bias])
    # Coupled decay, first step: w - lr * wd * w = w * (1 - 0.1 * 0.5).
    np.testing.assert_allclose(after[kernel], before[kernel] * 0.95, rtol=1e-6)
