"""The one base class of the errors a user can fix: their input, their files, their machine.

Every loader and command of the toolkit raises a subclass of `UserError` for a bad input, with a
one-line message that names the file or option, the field, the value and what is allowed. The
``ahp`` command line prints such an error in one line and exits with status 2; any other
exception is a bug in the toolkit and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(ValueError):
    """A bad input (file, option, selection) or an unusable machine, reported in one line."""
