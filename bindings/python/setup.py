"""Marks the `clawlet` wheel as platform-specific: it carries libclawlet_node (a native library
loaded with ctypes), so the wheel is tagged py3-none-<platform> and installs into platlib. All
metadata lives in pyproject.toml; bindings/python/build-wheel.sh stages the library first."""

from pathlib import Path

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.dist import Distribution

_HERE = Path(__file__).resolve().parent
_LIBS = ("libclawlet_node.so", "libclawlet_node.dylib")
if not any((_HERE / "clawlet" / name).is_file() for name in _LIBS):
    raise SystemExit(
        "clawlet: no libclawlet_node.so/.dylib in clawlet/: build the wheel with "
        "bindings/python/build-wheel.sh, which stages the built library"
    )


class _BinaryDistribution(Distribution):
    """A distribution with a native part (platlib, platform tag)."""

    def has_ext_modules(self):
        return True


class _PlatformWheel(bdist_wheel):
    """py3-none-<platform>: any Python 3 (ctypes, no extension module), one platform."""

    def get_tag(self):
        _python, _abi, platform = super().get_tag()
        return "py3", "none", platform


setup(distclass=_BinaryDistribution, cmdclass={"bdist_wheel": _PlatformWheel})
