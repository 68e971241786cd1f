"""The layer table: one entry per torch layer and loss that funcgrad has, read by everything else.

Each entry says, once, what the rest of funcgrad needs to know about a torch layer:

* ``module``: the funcgrad class, named as torch's (``fg.nn.Conv2d`` for ``torch.nn.Conv2d``), with
  torch's constructor signature;
* ``functional``: its pure form in ``fg.nn.functional`` (or ``fg.losses``), named as torch's
  ``torch.nn.functional`` function;
* ``grad_fn``: the ``grad_fn`` torch records for the layer's output, which ``fg.graph`` shows;
* ``nnx``: how ``fg.interop.to_nnx`` carries it (the name of a native ``flax.nnx`` route, or
  ``None`` for the generic wrapper that runs the funcgrad layer itself);
* ``convert``: how ``fg.interop.convert`` writes it (``"leaf"``: ``fg.nn.<Name>(...)`` with torch's
  constructor arguments, read from the torch module's attributes of the same names);
* ``module_db`` / ``op_db``: where torch's own sample inputs for it come from (the ``module_db``
  entry of the same name, and the ``op_db`` entries of its functional form).

The converter's leaf table, its ``F.*`` rows, the graph's ``grad_fn`` labels, the NNX mapping, the
parity and finite-difference tests and the docs' table of layers are all derived from this table;
none of them lists layers again. ``tests/test_registry.py`` fails when an entry lacks any of them.

Adding a layer: its module, its functional, one entry here (``docs/contributing.md`` has a worked
example).

Example:
    >>> import funcgrad as fg
    >>> entry = fg.nn.LAYERS["Conv2d"]
    >>> entry.module is fg.nn.Conv2d, entry.functional.__name__, entry.grad_fn
    (True, 'conv2d', 'ConvolutionBackward0')
    >>> fg.nn.LOSSES["MSELoss"].functional.__name__
    'mse_loss'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from funcgrad import losses
from funcgrad.nn import _activations as act
from funcgrad.nn import (
    _attention,
    _conv,
    _distance,
    _dropout,
    _embedding,
    _linear,
    _losses,
    _norm,
    _padding,
    _pool,
    _recurrent,
    _resample,
    _shape,
    _transformer,
)
from funcgrad.nn import functional as F
from funcgrad.nn._module import Module

__all__ = ["LAYERS", "LOSSES", "LayerEntry", "LossEntry"]


@dataclass(frozen=True)
class LayerEntry:
    """One torch layer that funcgrad has.

    Attributes:
        module: the funcgrad class, named as torch's, with torch's constructor signature.
        functional: its pure form in ``fg.nn.functional`` under torch's name, or ``None``.
        grad_fn: the ``grad_fn`` torch records for the layer's output (``fg.graph`` shows it).
        nnx: the native ``flax.nnx`` route of ``fg.interop.to_nnx``, or ``None`` for the generic
            wrapper that runs the funcgrad layer itself.
        convert: how ``fg.interop.convert`` writes it: ``"leaf"`` is ``fg.nn.<Name>(...)`` with
            torch's constructor arguments, read from the torch module's attributes.
        module_db: whether torch's ``module_db`` has sample inputs for the class of the same name.
        op_db: the ``op_db`` names whose samples the functional form runs on.
        torch_args: for ``convert``, reads constructor arguments from a torch module that keeps
            them under other names (or not at all), as ``{argument: value}``; the other arguments
            are read from the attributes of the same names.

    Example:
        >>> import funcgrad as fg
        >>> e = fg.nn.LAYERS["Linear"]
        >>> e.name, e.nnx, e.convert, e.module_db, e.op_db
        ('Linear', 'linear', 'leaf', True, ('nn.functional.linear',))
    """

    module: type[Module]
    functional: Callable[..., Any] | None
    grad_fn: str | None
    nnx: str | None = None
    convert: Literal["leaf"] = "leaf"
    module_db: bool = True
    op_db: tuple[str, ...] = ()
    torch_args: Callable[[Any], Mapping[str, Any]] | None = None

    @property
    def name(self) -> str:
        """torch's class name, which is funcgrad's too."""
        return self.module.__name__


@dataclass(frozen=True)
class LossEntry:
    """One torch loss: its ``torch.nn`` module name and funcgrad's functional form in ``fg.losses``.

    Attributes:
        name: torch's module name (``"CrossEntropyLoss"``).
        functional: the function in ``fg.losses``, under torch's ``torch.nn.functional`` name.
        grad_fn: the ``grad_fn`` torch records for the loss (``fg.graph`` shows it).
        module_db: whether torch's ``module_db`` has sample inputs for the loss module.
        op_db: the ``op_db`` names whose samples the functional form runs on.
        module: the loss module in ``fg.nn`` under torch's name (``fg.nn.CrossEntropyLoss``),
            with torch's constructor signature; its ``apply`` calls ``functional``.
        torch_args: for ``convert``, as :attr:`LayerEntry.torch_args` (the constructor arguments
            a torch loss module keeps under other names).

    Example:
        >>> import funcgrad as fg
        >>> e = fg.nn.LOSSES["CrossEntropyLoss"]
        >>> e.functional.__name__, e.grad_fn, e.op_db, e.module is fg.nn.CrossEntropyLoss
        ('cross_entropy', 'NllLossBackward0', ('nn.functional.cross_entropy',), True)
    """

    name: str
    functional: Callable[..., Any]
    grad_fn: str | None
    module_db: bool = True
    op_db: tuple[str, ...] = ()
    module: type[Module] | None = None
    torch_args: Callable[[Any], Mapping[str, Any]] | None = None


def _table(*entries: Any) -> Mapping[str, Any]:
    table = {e.name: e for e in entries}
    assert len(table) == len(entries), "a layer is registered twice"
    return MappingProxyType(table)


def _op(name: str) -> tuple[str, ...]:
    return (f"nn.functional.{name}",)


LAYERS: Mapping[str, LayerEntry] = _table(
    # -- linear and embedding ---------------------------------------------------------------------
    LayerEntry(_linear.Linear, F.linear, "AddmmBackward0", nnx="linear", op_db=_op("linear")),
    LayerEntry(_linear.Bilinear, F.bilinear, "AddBackward0", op_db=_op("bilinear")),
    LayerEntry(
        _embedding.Embedding,
        F.embedding,
        "EmbeddingBackward0",
        nnx="embedding",
        op_db=_op("embedding"),
    ),
    # -- distances (module_db has no entries; op_db's samples cover the functional forms) ---------
    LayerEntry(
        _distance.CosineSimilarity,
        F.cosine_similarity,
        "SumBackward1",
        module_db=False,
        op_db=_op("cosine_similarity"),
    ),
    LayerEntry(
        _distance.PairwiseDistance,
        F.pairwise_distance,
        "NormBackward1",
        module_db=False,
        op_db=_op("pairwise_distance"),
    ),
    # -- convolutions -----------------------------------------------------------------------------
    LayerEntry(_conv.Conv1d, F.conv1d, "ConvolutionBackward0", nnx="conv", op_db=_op("conv1d")),
    LayerEntry(_conv.Conv2d, F.conv2d, "ConvolutionBackward0", nnx="conv", op_db=_op("conv2d")),
    LayerEntry(_conv.Conv3d, F.conv3d, "ConvolutionBackward0", nnx="conv", op_db=_op("conv3d")),
    LayerEntry(
        _conv.ConvTranspose1d,
        F.conv_transpose1d,
        "ConvolutionBackward0",
        nnx="conv_transpose",
        op_db=_op("conv_transpose1d"),
    ),
    LayerEntry(
        _conv.ConvTranspose2d,
        F.conv_transpose2d,
        "ConvolutionBackward0",
        nnx="conv_transpose",
        op_db=_op("conv_transpose2d"),
    ),
    LayerEntry(
        _conv.ConvTranspose3d,
        F.conv_transpose3d,
        "ConvolutionBackward0",
        nnx="conv_transpose",
        op_db=_op("conv_transpose3d"),
    ),
    # module_db has no Unfold or Fold; op_db has unfold only (tests/test_conv.py checks fold)
    LayerEntry(_conv.Unfold, F.unfold, "Im2ColBackward0", module_db=False, op_db=_op("unfold")),
    LayerEntry(_conv.Fold, F.fold, "Col2ImBackward0", module_db=False),
    # -- padding ----------------------------------------------------------------------------------
    # F.pad is every layer's functional, but torch labels its modes apart (ReflectionPad2DBackward0,
    # ...): it is the functional of the constant-mode layers, whose label it shares, and the
    # other modes' entries name none. Its op_db samples (every mode) run once, on ConstantPad1d.
    LayerEntry(
        _padding.ConstantPad1d,
        F.pad,
        "ConstantPadNdBackward0",
        op_db=tuple(
            f"nn.functional.pad/{mode}"
            for mode in ("constant", "reflect", "replicate", "replicate_negative", "circular")
        ),
    ),
    LayerEntry(_padding.ConstantPad2d, F.pad, "ConstantPadNdBackward0"),
    LayerEntry(_padding.ConstantPad3d, F.pad, "ConstantPadNdBackward0"),
    LayerEntry(_padding.ZeroPad1d, F.pad, "ConstantPadNdBackward0"),
    LayerEntry(_padding.ZeroPad2d, F.pad, "ConstantPadNdBackward0"),
    LayerEntry(_padding.ZeroPad3d, F.pad, "ConstantPadNdBackward0"),
    LayerEntry(_padding.ReflectionPad1d, None, "ReflectionPad1DBackward0"),
    LayerEntry(_padding.ReflectionPad2d, None, "ReflectionPad2DBackward0"),
    LayerEntry(_padding.ReflectionPad3d, None, "ReflectionPad3DBackward0"),
    LayerEntry(_padding.ReplicationPad1d, None, "ReplicationPad1DBackward0"),
    LayerEntry(_padding.ReplicationPad2d, None, "ReplicationPad2DBackward0"),
    LayerEntry(_padding.ReplicationPad3d, None, "ReplicationPad3DBackward0"),
    LayerEntry(_padding.CircularPad1d, None, "CopySlices"),  # torch pads circularly by copies
    LayerEntry(_padding.CircularPad2d, None, "CopySlices"),
    LayerEntry(_padding.CircularPad3d, None, "CopySlices"),
    # -- normalisation ----------------------------------------------------------------------------
    LayerEntry(
        _norm.BatchNorm1d,
        F.batch_norm,
        "NativeBatchNormBackward0",
        nnx="batch_norm",
        op_db=_op("batch_norm"),
    ),
    LayerEntry(
        _norm.BatchNorm2d,
        F.batch_norm,
        "NativeBatchNormBackward0",
        nnx="batch_norm",
        op_db=_op("batch_norm"),
    ),
    LayerEntry(
        _norm.BatchNorm3d,
        F.batch_norm,
        "NativeBatchNormBackward0",
        nnx="batch_norm",
        op_db=_op("batch_norm"),
    ),
    # instance norm is batch norm over (1, N * C, *) viewed back: torch's grad_fn is the view's
    LayerEntry(_norm.InstanceNorm1d, F.instance_norm, "ViewBackward0", op_db=_op("instance_norm")),
    LayerEntry(_norm.InstanceNorm2d, F.instance_norm, "ViewBackward0", op_db=_op("instance_norm")),
    LayerEntry(_norm.InstanceNorm3d, F.instance_norm, "ViewBackward0", op_db=_op("instance_norm")),
    LayerEntry(
        _norm.LocalResponseNorm,
        F.local_response_norm,
        "DivBackward0",
        op_db=_op("local_response_norm"),
    ),
    LayerEntry(
        _norm.LayerNorm,
        F.layer_norm,
        "NativeLayerNormBackward0",
        nnx="layer_norm",
        op_db=_op("layer_norm"),
    ),
    LayerEntry(
        _norm.GroupNorm,
        F.group_norm,
        "NativeGroupNormBackward0",
        nnx="group_norm",
        op_db=_op("group_norm"),
    ),
    LayerEntry(_norm.RMSNorm, F.rms_norm, "MulBackward0", op_db=_op("rms_norm")),
    # -- pooling ----------------------------------------------------------------------------------
    # torch runs the 1-D pools as 2-D ones on an unsqueezed input: their output's grad_fn is the
    # squeeze (lp_pool's is its final pow).
    LayerEntry(_pool.MaxPool1d, F.max_pool1d, "SqueezeBackward1", op_db=_op("max_pool1d")),
    LayerEntry(
        _pool.MaxPool2d,
        F.max_pool2d,
        "MaxPool2DWithIndicesBackward0",
        nnx="max_pool",
        op_db=_op("max_pool2d"),
    ),
    LayerEntry(
        _pool.MaxPool3d, F.max_pool3d, "MaxPool3DWithIndicesBackward0", op_db=_op("max_pool3d")
    ),
    LayerEntry(_pool.AvgPool1d, F.avg_pool1d, "SqueezeBackward1", op_db=_op("avg_pool1d")),
    LayerEntry(
        _pool.AvgPool2d, F.avg_pool2d, "AvgPool2DBackward0", nnx="avg_pool", op_db=_op("avg_pool2d")
    ),
    LayerEntry(_pool.AvgPool3d, F.avg_pool3d, "AvgPool3DBackward0", op_db=_op("avg_pool3d")),
    LayerEntry(_pool.LPPool1d, F.lp_pool1d, "PowBackward0"),
    LayerEntry(_pool.LPPool2d, F.lp_pool2d, "PowBackward0"),
    LayerEntry(_pool.LPPool3d, F.lp_pool3d, "PowBackward0"),
    LayerEntry(
        _pool.AdaptiveAvgPool1d,
        F.adaptive_avg_pool1d,
        "SqueezeBackward1",
        op_db=_op("adaptive_avg_pool1d"),
    ),
    LayerEntry(
        _pool.AdaptiveAvgPool2d,
        F.adaptive_avg_pool2d,
        "AdaptiveAvgPool2DBackward0",  # torch shows MeanBackward1 for an output of 1x1
        nnx="adaptive_avg_pool",
        op_db=_op("adaptive_avg_pool2d"),
    ),
    LayerEntry(
        _pool.AdaptiveAvgPool3d,
        F.adaptive_avg_pool3d,
        "AdaptiveAvgPool3DBackward0",  # MeanBackward1 for an output of 1x1x1
        op_db=_op("adaptive_avg_pool3d"),
    ),
    LayerEntry(
        _pool.AdaptiveMaxPool1d,
        F.adaptive_max_pool1d,
        "SqueezeBackward1",
        op_db=_op("adaptive_max_pool1d"),
    ),
    LayerEntry(
        _pool.AdaptiveMaxPool2d,
        F.adaptive_max_pool2d,
        "AdaptiveMaxPool2DBackward0",
        op_db=_op("adaptive_max_pool2d"),
    ),
    LayerEntry(
        _pool.AdaptiveMaxPool3d,
        F.adaptive_max_pool3d,
        "AdaptiveMaxPool3DBackward0",
        op_db=_op("adaptive_max_pool3d"),
    ),
    # module_db has no MaxUnpool entries: op_db's samples (max_pool's outputs and indices) cover them
    LayerEntry(
        _pool.MaxUnpool1d,
        F.max_unpool1d,
        "SqueezeBackward1",
        module_db=False,
        op_db=_op("max_unpool1d"),
    ),
    LayerEntry(
        _pool.MaxUnpool2d,
        F.max_unpool2d,
        "MaxUnpool2DBackward0",
        module_db=False,
        op_db=_op("max_unpool2d"),
    ),
    LayerEntry(
        _pool.MaxUnpool3d,
        F.max_unpool3d,
        "MaxUnpool3DBackward0",
        module_db=False,
        op_db=_op("max_unpool3d"),
    ),
    LayerEntry(
        _pool.FractionalMaxPool2d,
        F.fractional_max_pool2d,
        "FractionalMaxPool2DBackward0",
        op_db=_op("fractional_max_pool2d"),
        torch_args=_pool.fractional_torch_args,  # its _random_samples buffer, when torch has one
    ),
    LayerEntry(
        _pool.FractionalMaxPool3d,
        F.fractional_max_pool3d,
        "FractionalMaxPool3DBackward0",
        op_db=_op("fractional_max_pool3d"),
        torch_args=_pool.fractional_torch_args,  # its _random_samples buffer, when torch has one
    ),
    # -- dropout (module_db has no entries; op_db's samples cover the functional form) -----------
    LayerEntry(
        _dropout.Dropout,
        F.dropout,
        "MulBackward0",  # train mode on CPU: input * mask / (1 - p); eval: no node
        nnx="dropout",
        module_db=False,
        op_db=_op("dropout"),
    ),
    LayerEntry(
        _dropout.Dropout2d,
        F.dropout2d,
        "MulBackward0",
        nnx="dropout2d",
        module_db=False,
        op_db=_op("dropout2d"),
    ),
    LayerEntry(_dropout.Dropout1d, F.dropout1d, "MulBackward0", module_db=False),  # no op_db
    LayerEntry(
        _dropout.Dropout3d, F.dropout3d, "MulBackward0", module_db=False, op_db=_op("dropout3d")
    ),
    LayerEntry(
        _dropout.AlphaDropout,
        F.alpha_dropout,
        "AddBackward0",  # train mode: input * a * mask + b; eval: no node
        module_db=False,
        op_db=_op("alpha_dropout"),
    ),
    LayerEntry(
        _dropout.FeatureAlphaDropout,
        F.feature_alpha_dropout,
        "AddBackward0",
        module_db=False,
        op_db=tuple(
            f"nn.functional.feature_alpha_dropout/{v}" for v in ("with_train", "without_train")
        ),
    ),
    # -- resampling (module_db has no entries; op_db's interpolate variants cover them) ---------
    LayerEntry(
        _resample.Upsample,
        F.interpolate,
        "UpsampleNearest2DBackward0",  # the default mode on (N, C, H, W); each mode its own
        module_db=False,
        op_db=tuple(
            f"nn.functional.interpolate/{mode}"
            for mode in (
                "nearest",
                "nearest-exact",
                "linear",
                "bilinear",
                "bicubic",
                "trilinear",
                "area",
            )
        ),
    ),
    LayerEntry(
        _resample.UpsamplingNearest2d,
        F.upsample_nearest,
        "UpsampleNearest2DBackward0",
        module_db=False,
        op_db=_op("upsample_nearest"),
    ),
    LayerEntry(
        _resample.UpsamplingBilinear2d,
        F.upsample_bilinear,
        "UpsampleBilinear2DBackward0",
        module_db=False,
        op_db=_op("upsample_bilinear"),
    ),
    # -- attention and transformer ----------------------------------------------------------------
    LayerEntry(
        _attention.MultiheadAttention,
        F.multi_head_attention_forward,
        "ViewBackward0",  # TransposeBackward0 with batch_first
        op_db=_op("multi_head_attention_forward"),
        torch_args=_attention.multihead_attention_args,
    ),
    LayerEntry(
        _transformer.TransformerEncoderLayer,
        None,
        "NativeLayerNormBackward0",  # AddBackward0 with norm_first
        torch_args=_transformer.layer_args,
    ),
    LayerEntry(
        _transformer.TransformerDecoderLayer,
        None,
        "NativeLayerNormBackward0",
        torch_args=_transformer.layer_args,
    ),
    LayerEntry(
        _transformer.TransformerEncoder,
        None,
        "NativeLayerNormBackward0",
        torch_args=_transformer.encoder_args,
    ),
    LayerEntry(
        _transformer.TransformerDecoder,
        None,
        "NativeLayerNormBackward0",
        module_db=False,  # torch's module_db has no TransformerDecoder; test_transformer.py has
        torch_args=_transformer.decoder_args,
    ),
    LayerEntry(
        _transformer.Transformer,
        None,
        "NativeLayerNormBackward0",
        torch_args=_transformer.transformer_args,
    ),
    # -- activations ------------------------------------------------------------------------------
    LayerEntry(act.ReLU, F.relu, "ReluBackward0", nnx="relu", op_db=_op("relu")),
    LayerEntry(act.Tanh, F.tanh, "TanhBackward0", nnx="tanh", op_db=("tanh",)),
    LayerEntry(act.Sigmoid, F.sigmoid, "SigmoidBackward0", nnx="sigmoid", op_db=("sigmoid",)),
    LayerEntry(act.GELU, F.gelu, "GeluBackward0", nnx="gelu", op_db=_op("gelu")),
    LayerEntry(
        act.LeakyReLU, F.leaky_relu, "LeakyReluBackward0", nnx="leaky_relu", op_db=_op("leaky_relu")
    ),
    LayerEntry(act.ELU, F.elu, "EluBackward0", nnx="elu", op_db=_op("elu")),
    LayerEntry(act.SiLU, F.silu, "SiluBackward0", nnx="silu", op_db=_op("silu")),
    LayerEntry(act.Softmax, F.softmax, "SoftmaxBackward0", nnx="softmax", op_db=("softmax",)),
    LayerEntry(
        act.LogSoftmax,
        F.log_softmax,
        "LogSoftmaxBackward0",
        nnx="log_softmax",
        op_db=("log_softmax",),
    ),
    LayerEntry(act.CELU, F.celu, "CeluBackward0", op_db=_op("celu")),
    LayerEntry(act.SELU, F.selu, "EluBackward0", op_db=_op("selu")),
    LayerEntry(act.GLU, F.glu, "GluBackward0", op_db=_op("glu")),
    LayerEntry(act.Hardshrink, F.hardshrink, "HardshrinkBackward0", op_db=_op("hardshrink")),
    LayerEntry(act.Softshrink, F.softshrink, "SoftshrinkBackward0", op_db=_op("softshrink")),
    LayerEntry(
        act.Hardsigmoid,
        F.hardsigmoid,
        "HardsigmoidBackward0",
        module_db=False,  # module_db has no Hardsigmoid entry; op_db's samples cover it
        op_db=_op("hardsigmoid"),
    ),
    LayerEntry(act.Hardswish, F.hardswish, "HardswishBackward0", op_db=_op("hardswish")),
    LayerEntry(act.Hardtanh, F.hardtanh, "HardtanhBackward0", op_db=_op("hardtanh")),
    LayerEntry(act.ReLU6, F.relu6, "HardtanhBackward0", op_db=_op("relu6")),
    LayerEntry(act.LogSigmoid, F.logsigmoid, "LogSigmoidBackward0", op_db=_op("logsigmoid")),
    LayerEntry(act.Mish, F.mish, "MishBackward0", op_db=_op("mish")),
    LayerEntry(act.PReLU, F.prelu, "PreluKernelBackward0", op_db=_op("prelu")),
    LayerEntry(
        act.RReLU,
        F.rrelu,
        "RreluWithNoiseBackward0",
        module_db=False,  # module_db has no RReLU entry; op_db's samples cover it
        op_db=_op("rrelu"),
    ),
    LayerEntry(act.Softplus, F.softplus, "SoftplusBackward0", op_db=_op("softplus")),
    LayerEntry(act.Softsign, F.softsign, "DivBackward0", op_db=_op("softsign")),
    LayerEntry(act.Tanhshrink, F.tanhshrink, "SubBackward0", op_db=_op("tanhshrink")),
    LayerEntry(act.Threshold, F.threshold, "ThresholdBackward0", op_db=_op("threshold")),
    LayerEntry(act.Softmin, F.softmin, "SoftmaxBackward0", op_db=_op("softmin")),
    LayerEntry(act.Softmax2d, F.softmax, "SoftmaxBackward0"),
    # -- shape ------------------------------------------------------------------------------------
    LayerEntry(
        act.Flatten, F.flatten, "ViewBackward0", nnx="flatten", module_db=False, op_db=("flatten",)
    ),
    LayerEntry(act.Identity, None, None, nnx="identity", module_db=False),
    LayerEntry(
        _shape.Unflatten, F.unflatten, "ViewBackward0", module_db=False, op_db=("unflatten",)
    ),
    LayerEntry(
        _shape.PixelShuffle,
        F.pixel_shuffle,
        "PixelShuffleBackward0",
        module_db=False,
        op_db=_op("pixel_shuffle"),
    ),
    LayerEntry(
        _shape.PixelUnshuffle,
        F.pixel_unshuffle,
        "PixelUnshuffleBackward0",
        module_db=False,
        op_db=_op("pixel_unshuffle"),
    ),
    LayerEntry(
        _shape.ChannelShuffle,
        F.channel_shuffle,
        "ChannelShuffleBackward0",
        module_db=False,
        op_db=_op("channel_shuffle"),
    ),
    # -- recurrent (torch has no F.rnn/F.lstm; the cells' functionals are torch.<mode>_cell) ----
    # grad_fn: torch's output of a batched input in eval on CPU (an unbatched one is squeezed:
    # SqueezeBackward1); the LSTM without projection runs oneDNN's kernel there.
    LayerEntry(_recurrent.RNN, None, "StackBackward0"),
    LayerEntry(_recurrent.LSTM, None, "MkldnnRnnLayerBackward0"),
    LayerEntry(_recurrent.GRU, None, "StackBackward0"),
    LayerEntry(_recurrent.RNNCell, F.rnn_tanh_cell, "TanhBackward0"),
    LayerEntry(_recurrent.LSTMCell, F.lstm_cell, "MulBackward0"),
    LayerEntry(_recurrent.GRUCell, F.gru_cell, "AddBackward0"),
)
"""Every torch layer funcgrad has, by torch's class name."""


LOSSES: Mapping[str, LossEntry] = _table(
    LossEntry(
        "L1Loss", losses.l1_loss, "MeanBackward0", op_db=_op("l1_loss"), module=_losses.L1Loss
    ),
    LossEntry(
        "MSELoss",
        losses.mse_loss,
        "MseLossBackward0",
        op_db=_op("mse_loss"),
        module=_losses.MSELoss,
    ),
    LossEntry(
        "HuberLoss",
        losses.huber_loss,
        "HuberLossBackward0",
        op_db=_op("huber_loss"),
        module=_losses.HuberLoss,
    ),
    LossEntry(
        "SmoothL1Loss",
        losses.smooth_l1_loss,
        "SmoothL1LossBackward0",
        op_db=_op("smooth_l1_loss"),
        module=_losses.SmoothL1Loss,
    ),
    LossEntry(
        "BCELoss",
        losses.binary_cross_entropy,
        "BinaryCrossEntropyBackward0",
        op_db=_op("binary_cross_entropy"),
        module=_losses.BCELoss,
    ),
    LossEntry(
        "BCEWithLogitsLoss",
        losses.binary_cross_entropy_with_logits,
        "BinaryCrossEntropyWithLogitsBackward0",
        op_db=_op("binary_cross_entropy_with_logits"),
        module=_losses.BCEWithLogitsLoss,
    ),
    LossEntry(
        "NLLLoss",
        losses.nll_loss,
        "NllLossBackward0",
        op_db=_op("nll_loss"),
        module=_losses.NLLLoss,
    ),
    LossEntry(
        "CrossEntropyLoss",
        losses.cross_entropy,
        "NllLossBackward0",
        op_db=_op("cross_entropy"),
        module=_losses.CrossEntropyLoss,
    ),
    # -- likelihoods: their default reduction is a plain mean of the elements ---------------------
    LossEntry(
        "KLDivLoss",
        losses.kl_div,
        "MeanBackward0",
        # module_db's first sample has negative targets (a NaN loss, in torch too), where the
        # layer table's finite differences cannot agree: tests/test_loss_modules.py runs them.
        module_db=False,
        op_db=_op("kl_div"),
        module=_losses.KLDivLoss,
    ),
    LossEntry(
        "PoissonNLLLoss",
        losses.poisson_nll_loss,
        "MeanBackward0",
        op_db=_op("poisson_nll_loss"),
        module=_losses.PoissonNLLLoss,
    ),
    LossEntry(
        "GaussianNLLLoss",
        losses.gaussian_nll_loss,
        "MeanBackward0",
        op_db=_op("gaussian_nll_loss"),
        module=_losses.GaussianNLLLoss,
    ),
    # -- margins ----------------------------------------------------------------------------------
    LossEntry(
        "MarginRankingLoss",
        losses.margin_ranking_loss,
        "MeanBackward0",
        op_db=_op("margin_ranking_loss"),
        module=_losses.MarginRankingLoss,
    ),
    LossEntry(
        "HingeEmbeddingLoss",
        losses.hinge_embedding_loss,
        "MeanBackward0",
        module_db=False,  # torch takes no gradient for its target: tests/test_loss_modules.py
        op_db=_op("hinge_embedding_loss"),
        module=_losses.HingeEmbeddingLoss,
    ),
    LossEntry(
        "SoftMarginLoss",
        losses.soft_margin_loss,
        "SoftMarginLossBackward0",
        module_db=False,  # torch takes no gradient for its target: tests/test_loss_modules.py
        op_db=_op("soft_margin_loss"),
        module=_losses.SoftMarginLoss,
    ),
    LossEntry(
        "MultiLabelSoftMarginLoss",
        losses.multilabel_soft_margin_loss,
        "MeanBackward0",
        op_db=_op("multilabel_soft_margin_loss"),
        module=_losses.MultiLabelSoftMarginLoss,
    ),
    LossEntry(
        "MultiLabelMarginLoss",
        losses.multilabel_margin_loss,
        "MultilabelMarginLossBackward0",
        op_db=_op("multilabel_margin_loss"),
        module=_losses.MultiLabelMarginLoss,
    ),
    LossEntry(
        "MultiMarginLoss",
        losses.multi_margin_loss,
        "MultiMarginLossBackward0",
        op_db=_op("multi_margin_loss"),
        module=_losses.MultiMarginLoss,
    ),
    LossEntry(
        "CosineEmbeddingLoss",
        losses.cosine_embedding_loss,
        "MeanBackward0",
        module_db=False,  # torch takes no gradient for its target: tests/test_loss_modules.py
        op_db=_op("cosine_embedding_loss"),
        module=_losses.CosineEmbeddingLoss,
    ),
    # -- triplets and sequences -------------------------------------------------------------------
    LossEntry(
        "TripletMarginLoss",
        losses.triplet_margin_loss,
        "MeanBackward0",
        module_db=False,  # module_db has no samples; op_db's cover the functional form
        op_db=_op("triplet_margin_loss"),
        module=_losses.TripletMarginLoss,
    ),
    LossEntry(
        "TripletMarginWithDistanceLoss",
        losses.triplet_margin_with_distance_loss,
        "MeanBackward0",
        module_db=False,  # module_db has no samples; op_db's cover the functional form
        op_db=_op("triplet_margin_with_distance_loss"),
        module=_losses.TripletMarginWithDistanceLoss,
    ),
    LossEntry(
        "CTCLoss",
        losses.ctc_loss,
        "MeanBackward0",  # torch's mean divides each loss by its target length, then averages
        # torch's float32 CTC gradient is ~2e-5 (relative) off its own float64 one, and its
        # gradient is not the loss's (it adds exp(log_probs), see ctc_loss): the module_db
        # samples run in tests/test_loss_modules.py and tests/test_loss_op_db.py instead.
        module_db=False,
        op_db=_op("ctc_loss"),
        module=_losses.CTCLoss,
    ),
    # -- a loss with parameters: a linear projection to the logits ---------------------------------
    LossEntry(
        "LinearCrossEntropyLoss",
        losses.linear_cross_entropy,
        "NllLossBackward0",
        op_db=tuple(
            f"nn.functional.linear_cross_entropy{v}" for v in ("", "/chunked", "/chunked_none")
        ),
        module=_losses.LinearCrossEntropyLoss,
        # torch keeps the sizes on its inner Linear; options (chunking, memory only) is dropped
        torch_args=lambda m: {
            "in_features": m.linear.in_features,
            "bias": m.linear.bias is not None,
            "options": None,
        },
    ),
)
"""Every torch loss funcgrad has, by torch's ``torch.nn`` module name."""
