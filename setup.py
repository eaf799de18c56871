"""Package discovery only (metadata lives in pyproject.toml).

The top-level `kernels/` folder ships as `vidclip.kernels`, never as a bare `kernels`
package: that name is taken on PyPI. The top-level `configs/` recipes ship as `vidclip.configs`
(package data), so `vidclip demo` runs from an installed wheel.
"""

from setuptools import find_packages, setup

kernel_packages = ["vidclip.kernels"] + [f"vidclip.kernels.{name}" for name in find_packages("kernels")]
setup(
    packages=find_packages(include=["vidclip", "vidclip.*"]) + kernel_packages + ["vidclip.configs"],
    package_dir={"vidclip.kernels": "kernels", "vidclip.configs": "configs"},
)
