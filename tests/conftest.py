"""Strict JAX for every test, a compilation cache shared by every process, and the suite's markers."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Keep PyTorch's OpenMP pool small: its spinning threads otherwise steal the CPU from JAX.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# JAX's persistent compilation cache, set in the environment before jax is imported so that the
# pytest-xdist workers and every Python subprocess the tests start compile each program once between
# them (and a second run of the suite compiles almost nothing). Every compiled program is kept (no
# minimum time or size). A maximum size turns on JAX's file lock around each read and write, so
# workers writing the same entry at once never read half a file. Set a variable to override it.
JAX_CACHE_ENV = {
    "JAX_COMPILATION_CACHE_DIR": str(ROOT / ".cache" / "jax"),
    # Only programs that took half a second to compile: writing every small one to disk made a
    # cold run (CI's) about 30% slower, while the large ones (models, the CLI's runs) are what the
    # xdist workers and child processes share.
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0.5",
    "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",
    "JAX_COMPILATION_CACHE_MAX_SIZE": str(2 << 30),  # 2 GiB; least recently used entries go first
}
for _name, _value in JAX_CACHE_ENV.items():
    os.environ.setdefault(_name, _value)

import jax  # noqa: E402
import pytest  # noqa: E402

import funcgrad.train  # noqa: E402

# The environment only reaches a jax imported after this file: say it again to one that was not
# (a pytest plugin may have imported it first).
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
for _name in JAX_CACHE_ENV.keys() - {"JAX_COMPILATION_CACHE_DIR"}:
    jax.config.update(
        _name.lower(), float(os.environ[_name]) if "SECS" in _name else int(os.environ[_name])
    )

# The suite is an application: like `funcgrad train`, it asks for XLA's fast CPU kernels before
# JAX starts (tests of the slow-path warning and of import side effects run in their own env).
funcgrad.train.enable_fast_cpu_kernels()

# Implicit rank promotion hides shape bugs (a (3,) + (3, 1) silently becoming (3, 3)).
jax.config.update("jax_numpy_rank_promotion", "raise")

# tests/_*.py are helpers and subprocess entry points, not test modules: keep --doctest-modules
# from importing them (some read sys.argv at import).
collect_ignore_glob = ["_*.py"]

# Print how many hypothesis cases each property test ran (also under pytest-xdist).
from _property_counts import pytest_runtest_logreport, pytest_terminal_summary  # noqa: E402, F401

# Markers (declared in pyproject.toml; `make test-fast` deselects all five):
#   notebooks   runs the notebooks in a Jupyter kernel
#   docs        builds the docs site or runs the snippets of its pages
#   property    hypothesis property tests
#   subprocess  starts Python processes (the CLI, scripts, a built wheel, 2 hosts, a killed run)
#   slow        takes more than ~5 s on one core for another reason (measured with --durations)
#
# Every test of a file whose name matches (fnmatch):
FILE_MARKERS: dict[str, tuple[str, ...]] = {
    "test_notebooks.py": ("notebooks",),
    "test_docs_site.py": ("docs",),
    "test_docs_snippets.py": ("docs",),
    "test_properties_*.py": ("property",),
    "test_wheel.py": ("subprocess",),
    "test_scripts.py": ("subprocess",),
    "test_train_crash.py": ("subprocess",),
    "test_bench_*_repro.py": ("subprocess",),  # scripts/bench's plain-JAX reproductions
    "test_convert_torchvision.py": ("slow",),  # each test compiles a whole torchvision network
}

# Single tests, by file and test function: every parametrisation of ``test_f``, or only the ones
# named ``test_f[id]`` (the id pytest prints).
# MultiheadAttention's module_db samples (embed_dim=3, num_heads=3) whose float32 input gradients
# cancel: torch's float32 is itself up to 3e-5 from float64, beyond the table's 1e-5, so two float32
# roundings cannot agree; test_attention.py checks funcgrad is as close to float64 as torch is.
_ILL_CONDITIONED = {("MultiheadAttention", "float32", i) for i in (8, 14, 23, 26, 55, 60, 61, 62)}

TEST_MARKERS: dict[str, dict[str, tuple[str, ...]]] = {
    # slow: over ~5 s each on one loaded core, or a slow module fixture their file shares.
    "test_loss_op_db.py": {"test_every_op_db_sample": ("slow",)},  # 5-70 s each, 12 min in all
    "test_loss_modules.py": {"test_module_db_samples_through_the_module": ("slow",)},
    "test_autodiff_backprop.py": {
        "test_backprop_equals_jax_grad[convnet]": ("slow",),
        "test_backprop_equals_jax_grad[mynet]": ("slow",),
        "test_backprop_mynet_matches_torch": ("slow",),
    },
    "test_autodiff_gradcheck.py": {
        "test_gradcheck_passes_every_layer[convnet]": ("slow",),
        "test_gradcheck_passes_every_layer[conv2d]": ("slow",),
    },
    "test_convnet.py": {
        "test_finite_differences": ("slow",),
        "test_init_apply_shapes_agree_with_torch": ("slow",),
        "test_vmap_batches": ("slow",),
    },
    "test_charlm.py": {  # each trains, compiles a sampling scan, or differentiates a GPT
        "test_train_reports_bits_per_char_and_sample_continues_the_prompt": ("slow",),
        "test_sample_at_a_low_temperature_is_the_greedy_continuation_and_key_driven": ("slow",),
        "test_gpt_matches_nanogpt_with_its_tied_lm_head": ("slow",),
    },
    "test_convert_lm.py": {
        "test_nanogpt_converts_with_its_tied_lm_head_and_agrees_in_float64": ("slow",),
        "test_fit_trains_a_converted_language_model_as_a_torch_loop_does": ("slow",),
    },
    "test_lenet.py": {
        "test_lenet5_five_sgd_steps_then_eval_match_torch": ("slow",),
    },
    "test_convert_tutorial_models.py": {  # converts and verifies twice, a branch per value
        "test_a_root_argument_that_changes_the_graph_gets_a_branch_per_value_seen": ("slow",),
    },
    "test_cli_convert.py": {  # runs `funcgrad convert --check` on a model of each family
        "test_convert_check_from_the_shell_on_each_family": ("subprocess", "slow"),
    },
    "test_convert_fit.py": {  # each converts a model, then compiles its training step
        "test_fit_trains_a_converted_torchvision_mobilenet_as_a_torch_loop_does": ("slow",),
        "test_fit_trains_the_converted_gpt2_as_a_torch_loop_does": ("slow",),
    },
    "test_convert_hf.py": {  # each exports and compiles a Hugging Face model (10-25 s)
        "test_hf_model_converts_verified_with_logits_and_parameter_gradients": ("slow",),
        "test_gpt2s_tied_lm_head_is_one_parameter_written_under_both_names": ("slow",),
    },
    "test_convert_timm.py": {  # each compiles a whole timm network
        "test_timm_model_converts_verified_with_outputs_and_parameter_gradients": ("slow",),
    },
    "test_convert_op_inventory.py": {  # each exports a model, or the functions fx cannot trace
        "test_every_glue_op_of_the_model_maps[hf.GPT2LMHeadModel]": ("slow",),
        "test_every_glue_op_of_the_model_maps[swin]": ("slow",),
    },
    "test_convert_tutorials.py": {
        "test_word_language_model_lstm": ("slow",),
    },
    "test_mynet.py": {
        "test_finite_differences": ("slow",),
    },
    "test_train.py": {
        "test_lenet_gets_digits_grown_to_16x16_and_trains_with_its_buffers": ("slow",),
        "test_scan_epoch_equals_the_step_loop": ("slow",),
    },
    "test_train_fit.py": {
        # The module fixture `runs` trains three times (12 s) for these four.
        "test_outputs_are_written": ("slow",),
        "test_same_seed_same_metrics": ("slow",),
        "test_resume_ends_bitwise_where_an_uninterrupted_run_ends": ("slow",),
        "test_a_saved_run_is_never_overwritten": ("slow",),
        "test_resume_finds_a_relative_npz_from_another_directory": ("slow",),
    },
    "test_activations.py": {
        "test_finite_differences": ("slow",),
    },
    "test_losses.py": {
        "test_finite_differences": ("slow",),
        "test_per_sample_loss_vmapped_then_averaged_is_the_mean_loss": ("slow",),
    },
    "test_pool.py": {
        "test_finite_differences": ("slow",),
        "test_return_indices_match_torch": ("slow",),  # eager MaxPool2d: every op compiles alone
    },
    # over ~19 s in `make test-fast` on 2 loaded cores (load average 6)
    "test_autodiff_jacobians.py": {
        "test_conv_jacobians_match_torch": ("slow",),
    },
    "test_conv.py": {
        "test_finite_differences": ("slow",),
        "test_stride_one_input_gradient_pads_then_convolves": ("slow",),
    },
    "test_fit_any_model.py": {
        "test_a_model_with_buffers_and_dropout_trains_reproducibly_by_key": ("slow",),
        "test_user_sequential_custom_loss_and_adamw_reach_95_percent_and_resume_after_sigkill": (
            "subprocess",
        ),
    },
    "test_pool_random.py": {
        "test_every_op_db_sample_matches_torch_given_its_samples": ("slow",),  # 16 compiles each
    },
    "test_layer_table.py": {
        "test_op_db_samples": ("slow",),  # up to 40 op_db samples a functional, each compiled
        "test_finite_differences": ("slow",),
        # recurrent layers: 160 module_db samples a dtype, each its own program (1-3 s to compile);
        # the fast tier keeps the eval samples with every option on (bias, batch_first,
        # bidirectional, given hx; RNN relu and tanh, LSTM with proj_size) and all the cells'.
        **{
            f"test_module_db_sample[{dt}-{name}-{mode}-{i}]": ("slow",)
            for dt in ("float32", "float64")
            for name, n, fast in (("RNN", 32, (15, 31)), ("LSTM", 32, (31,)), ("GRU", 16, (15,)))
            for mode in ("eval", "train")
            for i in range(n)
            if mode == "train" or i not in fast
        },
        # attention and transformer: 1-8 s a sample (one compile each), about 800 in all; the
        # first eval and train sample of each layer stay in the fast tier
        **{
            f"test_module_db_sample[{dtype}-{name}-{mode}-{i}]": (
                ("slow", "xfail") if (name, dtype, i) in _ILL_CONDITIONED else ("slow",)
            )
            for name, n_eval, n_train in [
                ("MultiheadAttention", 64, 64),
                ("TransformerEncoderLayer", 35, 39),
                ("TransformerEncoder", 35, 39),
                ("TransformerDecoderLayer", 67, 1),
                ("Transformer", 64, 1),
            ]
            for dtype in ("float32", "float64")
            for mode, n in (("eval", n_eval), ("train", n_train))
            for i in range(1 if name in ("MultiheadAttention", "TransformerEncoderLayer") else 0, n)
        },
    },
    "test_linear.py": {
        "test_finite_differences": ("slow",),
    },
    "test_sequential.py": {
        "test_finite_differences": ("slow",),
    },
    "test_to_nnx.py": {
        "test_converted_zoo_matches_torch": ("slow",),
    },
    "test_resample.py": {
        # every size rule x align_corners x antialias of a mode against torch, ~10-30 s each
        "test_interpolate_matches_torch_on_every_argument": ("slow",),
    },
    # subprocess
    "test_benchmark.py": {
        "test_quick_run_prints_table_and_writes_json": ("subprocess",),
        "test_every_framework_worker_reports_numbers": ("subprocess",),
        "test_report_says_how_the_kernels_were_chosen": ("subprocess",),
        "test_sweep_writes_plot_and_docs_table": ("subprocess",),
        "test_unknown_workload_is_refused": ("subprocess",),
        "test_interleaved_comparison_prints_a_ratio_per_row": ("subprocess",),
        "test_conv_input_gradient_script_prints_a_ratio": ("subprocess",),
        "test_converted_mynet_compiles_to_the_hand_written_program": ("slow",),
    },
    "test_cli.py": {
        "test_default_run_reaches_the_accuracy_target_and_says_where_it_saved": ("subprocess",),
        "test_corrupt_checkpoint_on_resume_is_an_error_and_deletes_nothing": ("subprocess",),
        "test_traceback_only_with_debug": ("subprocess",),
    },
    "test_convert.py": {
        "test_zoo_source_round_trip_in_a_fresh_interpreter": ("subprocess",),
        # ~30 s compiling float64 convolution gradients: make test checks the zoo's ResNet in
        # float32, and torchvision's ResNet in float64 (test_convert_torchvision.py)
        "test_zoo_eval_outputs_and_gradients_match_torch[resnet-float64]": ("slow", "exhaustive"),
    },
    "test_cpu_kernels.py": {
        "test_enable_fast_cpu_kernels_before_jax_starts": ("subprocess",),
        "test_enable_fast_cpu_kernels_leaves_a_callers_own_ynn_choice": ("subprocess",),
        "test_enable_fast_cpu_kernels_after_jax_started_raises_with_the_fix": ("subprocess",),
    },
    "test_distributed.py": {
        # The eight_devices fixture runs an 8-device training in a child process.
        "test_device_count_invariance": ("subprocess",),
        "test_xla_inserts_the_all_reduce": ("subprocess",),
        "test_checkpoint_from_8_devices_resumes_on_1": ("subprocess",),
        "test_two_processes_match_single_process": ("subprocess",),
        "test_batch_must_divide_by_device_count": ("subprocess",),
        "test_cli_unreachable_coordinator_is_one_line": ("subprocess",),
        "test_process_0_alone_stops_with_message": ("subprocess",),
    },
    "test_graph_render.py": {
        "test_funcgrad_graph_command": ("subprocess",),
    },
    "test_interop_files.py": {
        "test_numpy_and_safetensors_work_without_torch": ("subprocess",),
    },
    "test_layout.py": {
        "test_import_funcgrad_changes_no_process_state": ("subprocess",),
        "test_the_issue_one_liner_prints_what_was_there_before": ("subprocess",),
    },
    # make test checks forward and reverse mode on the stacked bidirectional LSTM; the rest after
    "test_recurrent.py": {
        f"test_forward_and_reverse_mode_match_finite_differences[{layer}]": ("exhaustive",)
        for layer in ("LSTM-proj", "GRU-bidirectional", "RNN-relu")
    },
}


def markers_for(file: str, test: str, name: str) -> set[str]:
    """The markers the tables give ``tests/<file>::<name>``, a parametrisation of function ``test``."""
    found = {
        m for pattern, ms in FILE_MARKERS.items() if fnmatch.fnmatch(file, pattern) for m in ms
    }
    table = TEST_MARKERS.get(file, {})
    return found | set(table.get(test, ())) | set(table.get(name, ()))


# torch's module_db has up to 64 samples a layer (MultiheadAttention, the Transformer family, the
# recurrent layers), one compile each: `make test` runs, per layer and mode, one sample in each
# dtype, two different ones where there are two: float32's first (the dtype users run) and
# float64's last (the strict one). A mode with a single sample (train mode where torch's modes
# agree: the check that funcgrad's agree too) runs in float32. The rest are marked `exhaustive` and
# run in `make test-exhaustive` (every sample of every layer).
EXHAUSTIVE = {  # whole tests that run every sample of a family: `make test-exhaustive` only
    "test_loss_op_db.py": {"test_every_op_db_sample"},
    # every layer of the table un-jitted and by finite differences (the family tests keep their
    # own of both, and every layer's gradients are checked against torch's in make test)
    "test_layer_table.py": {"test_module_db_sample_un_jitted", "test_finite_differences"},
    # the zoo converted to NNX (test_convert.py converts and checks every zoo model)
    "test_to_nnx.py": {"test_converted_zoo_matches_torch"},
    # smoke runs of the benchmark's diagnostic scripts (the benchmark itself runs in make test)
    "test_benchmark.py": {
        "test_every_framework_worker_reports_numbers",
        "test_sweep_writes_plot_and_docs_table",
        "test_interleaved_comparison_prints_a_ratio_per_row",
        "test_conv_input_gradient_script_prints_a_ratio",
    },
}


# Tests over both dtypes whose float32 half runs in `make test-exhaustive` only: float64 is the strict
# comparison, and each compiles a program per case.
FLOAT64_IN_MAKE_TEST = {
    "test_resample.py": {
        "test_interpolate_matches_torch_on_every_argument",
        "test_interpolate_gradient_matches_torch",
    },
    "test_lenet.py": {"test_lenet5_five_sgd_steps_then_eval_match_torch"},
    "test_pool.py": {
        "test_adaptive_pools_with_non_dividing_sizes_match_torch",
        "test_return_indices_match_torch",
    },
    # Every layer below also runs in float32 on its module_db samples (test_layer_table.py).
    "test_layer_table.py": {"test_op_db_samples"},
    "test_conv.py": {"test_matches_torch", "test_conv3d_and_transposed_match_torch"},
    "test_norm.py": {
        "test_batch_norm_matches_torch_over_steps",
        "test_instance_norm_matches_torch_over_steps",
    },
    "test_to_nnx.py": {"test_layer_matches_torch_and_funcgrad"},
}


def _kept(dtype: str, n: int) -> set[int]:
    """The ranks, out of a layer's ``n`` samples in one mode, that ``make test`` runs in ``dtype``."""
    if dtype == "float32":
        return {0}
    return {n - 1} if n > 1 else set()


def _float32(item: pytest.Item) -> bool:
    """A parametrisation in float32, by its id (``float32-bicubic-2``), as the table's ids read."""
    return hasattr(item, "callspec") and "float32" in item.callspec.id.split("-")


def _mark_exhaustive(items: list[pytest.Item]) -> None:
    groups: dict[tuple[str, str, str], list[tuple[int, pytest.Item]]] = {}
    for item in items:
        test = getattr(item, "originalname", item.name)
        if item.path.name == "test_layer_table.py" and test == "test_module_db_sample":
            dtype, case = item.callspec.id.split("-", 1)  # float32-Name-eval-3
            name, mode, index = case.rsplit("-", 2)
            groups.setdefault((dtype, name, mode), []).append((int(index), item))
        elif getattr(item, "callspec", None) and item.callspec.params.get("part") == "rest":
            item.add_marker("exhaustive")  # an op's samples after its first ones
        elif test in EXHAUSTIVE.get(item.path.name, ()) or (
            test in FLOAT64_IN_MAKE_TEST.get(item.path.name, ()) and _float32(item)
        ):
            item.add_marker("exhaustive")
    for (dtype, _, _), members in groups.items():
        keep = _kept(dtype, len(members))
        for rank, (_, item) in enumerate(sorted(members, key=lambda m: m[0])):
            if rank not in keep:
                item.add_marker("exhaustive")


@pytest.hookimpl(tryfirst=True)  # before -m deselects: the markers must be there to select on
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _mark_exhaustive(items)
    modules = {}
    for item in items:
        file = item.path.name
        test = getattr(item, "originalname", item.name)
        for marker in sorted(markers_for(file, test, item.name)):
            item.add_marker(marker)
        module = getattr(item, "module", None)
        if file in TEST_MARKERS and module is not None:
            modules[file] = module
    # A renamed test would silently lose its markers (and run in `make test-fast`): refuse.
    for file, module in modules.items():
        for name in TEST_MARKERS[file]:
            if not hasattr(module, name.split("[")[0]):
                raise pytest.UsageError(
                    f"tests/conftest.py's TEST_MARKERS names {file}::{name}, which does not exist; "
                    "rename or remove it there"
                )


@pytest.fixture
def x64():
    """Run the test body with float64 enabled, as ``jax_enable_x64`` would."""
    with jax.enable_x64(True):
        yield


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    """Parametrise a test over float32 and float64 (the latter under ``jax_enable_x64``)."""
    import numpy as np

    dt = np.dtype(request.param).type
    if dt is np.float64:
        with jax.enable_x64(True):
            yield dt
    else:
        yield dt
