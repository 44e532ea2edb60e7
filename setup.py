"""Build script (metadata and dependencies are in pyproject.toml).

Besides the Python packages it installs two data-only packages, so that a plain
``pip install .`` serves the web UI and lists the example strategies:
``tradesim_assets`` (the top-level ``assets/`` folder) and ``tradesim_strategies``
(``lua-strategies/examples`` and ``templates``). ``engine.platform.resources`` finds them.
"""

from setuptools import find_packages, setup

DATA_PACKAGES = {"tradesim_assets": "assets", "tradesim_strategies": "lua-strategies"}

setup(
    py_modules=["app"],
    packages=[
        *find_packages(include=["engine*", "jobs*", "pages*", "components*"]),
        *DATA_PACKAGES,
    ],
    package_dir=DATA_PACKAGES,
    package_data={
        "engine.strategy": ["*.lua"],
        "tradesim_assets": ["*"],
        "tradesim_strategies": ["examples/*.lua", "templates/*.lua"],
    },
)
