"""Every error and warning funcgrad raises is public, and names its public module."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import funcgrad


def _all_modules():
    for info in pkgutil.walk_packages(funcgrad.__path__, "funcgrad."):
        if not info.name.endswith("__main__"):  # running it would start the command
            yield importlib.import_module(info.name)


def _funcgrad_exceptions():
    found = {}
    for module in _all_modules():
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("funcgrad"):
                found[obj.__qualname__] = obj
    return found


def test_every_error_lives_in_its_public_module():
    errors = _funcgrad_exceptions()
    assert {"ModuleError", "StateDictMismatchError", "TrainError"} <= set(errors)
    for name, cls in errors.items():
        public = importlib.import_module(cls.__module__)
        assert not any(part.startswith("_") for part in cls.__module__.split(".")), (
            f"{name}.__module__ is private: {cls.__module__}"
        )
        assert getattr(public, name, None) is cls, f"{cls.__module__}.{name} is not exported"
        assert name in public.__all__, f"{name} missing from {cls.__module__}.__all__"
