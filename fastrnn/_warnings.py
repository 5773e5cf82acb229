"""Warnings attributed to the user's call, not to the line inside fastrnn that raises them."""

import os
import sys
import warnings

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def warn_at_caller(message, category=UserWarning):
    """``warnings.warn`` attributed to the first frame outside fastrnn (the user's call)."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR + os.sep):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
