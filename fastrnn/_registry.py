"""The classes that :mod:`fastrnn.persistence` can rebuild, by the kind written in a model file.

The modules that define saveable classes register them here when they are
imported (the estimators in ``fastrnn.estimators``, ``TextSequencer`` in
``fastrnn.text``), so persistence never imports a module above it.  A model
file may be loaded before any of those modules was imported: for that case a
higher layer (the package root) installs a resolver with
:func:`set_model_resolver`, which imports them on the first unknown kind.

This module imports nothing from fastrnn, so every layer may use it.
"""

_CLASSES = {}  # kind -> class
_KINDS = {}  # class -> kind
_resolver = None


def register_model_class(kind):
    """Class decorator: let ``fastrnn.load`` rebuild the class from files that name ``kind``.

    Parameters
    ----------
    kind : str
        The name written as ``"class"`` in a model file's ``config.json``;
        conventionally the class's ``__name__``.  Registering a second class
        under a kind already taken raises ``ValueError`` (re-registering the
        same class, e.g. after a module reload, replaces it).

    Returns
    -------
    decorator : callable
        Registers its argument and returns it unchanged.
    """
    if not isinstance(kind, str) or not kind.isidentifier():
        raise ValueError(f"kind must be a non-empty identifier string, got {kind!r}")

    def decorator(cls):
        if not isinstance(cls, type):
            raise TypeError(f"register_model_class({kind!r}) decorates a class, got "
                            f"{type(cls).__name__}")
        previous = _CLASSES.get(kind)
        if previous is not None and _qualified(previous) != _qualified(cls):
            raise ValueError(f"model kind {kind!r} is already registered to "
                             f"{_qualified(previous)}; cannot register {_qualified(cls)} under it")
        if previous is not None:
            _KINDS.pop(previous, None)
        _CLASSES[kind] = cls
        _KINDS[cls] = kind
        return cls

    return decorator


def _qualified(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def set_model_resolver(resolver):
    """Install the callable that imports the registering modules (``None`` removes it).

    Parameters
    ----------
    resolver : callable or None
        Called without arguments when :func:`model_class` meets an unknown
        kind; it should import the modules whose classes register themselves.
    """
    global _resolver
    if resolver is not None and not callable(resolver):
        raise TypeError(f"resolver must be callable or None, got {type(resolver).__name__}")
    _resolver = resolver


def model_class(kind):
    """The class registered under ``kind``, or ``None``.

    An unknown kind first runs the resolver (if one is installed), which may
    register it.
    """
    cls = _CLASSES.get(kind)
    if cls is None and _resolver is not None and isinstance(kind, str):
        _resolver()
        cls = _CLASSES.get(kind)
    return cls


def model_kind(cls):
    """The kind ``cls`` itself is registered under (subclasses are not), or ``None``."""
    return _KINDS.get(cls)


def registered_kinds():
    """The kinds registered so far, sorted."""
    return sorted(_CLASSES)
