"""Optional dependencies, installed through pip extras, and the error when one is missing.

Computer-vision explainability needs scikit-image (SLIC superpixels) and Pillow (JPEG/PNG),
which come with ``pip install 'clarify-runner[image]'``. Code that needs them calls
:func:`require_image_extra` first, so a job without them stops with a message naming the
extra instead of an ``ImportError`` deep inside a module.
"""

from __future__ import annotations

import importlib.util

from analyzer.errors import NotSupportedError

#: extra name -> (import name, distribution name) of the packages it brings
EXTRAS: dict[str, tuple[tuple[str, str], ...]] = {
    "image": (("skimage", "scikit-image"), ("PIL", "Pillow")),
}


def missing_packages(extra: str) -> list[str]:
    """Distribution names of the packages of ``extra`` that cannot be imported."""
    return [dist for module, dist in EXTRAS[extra] if importlib.util.find_spec(module) is None]


def require_extra(extra: str, what: str) -> None:
    """Raise :class:`NotSupportedError` naming ``extra`` when one of its packages is missing.

    ``what`` says what needs them, e.g. ``"dataset_type application/x-image"``.
    """
    missing = missing_packages(extra)
    if missing:
        raise NotSupportedError(
            f"{what} needs the optional package(s) {', '.join(missing)}; "
            f"install them with: pip install 'clarify-runner[{extra}]'"
        )


def require_image_extra(what: str = "Image explanations (dataset_type application/x-image)") -> None:
    """:func:`require_extra` for the ``image`` extra (scikit-image and Pillow)."""
    require_extra("image", what)
