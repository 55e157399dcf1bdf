"""A line magic whose `magic_arguments` parser and help are made when first needed.

IPython's `magic_arguments` decorators build an argparse parser, and format its help as
the magic's docstring, when the class is made: for ``%autoreload``, with the import of
`magic_arguments` itself, a good part of what ``%load_ext`` costs at every start. Here
the same declarations are kept, and `magic_arguments` builds the same parser and help
from them the first time either is needed: a line the caller's quick parse declines,
or the help asked for (``%autoreload?``, ``%magic``).

    @line_magic
    @lazy_arguments(argument("mode", nargs="?", ...), argument("--full", ...))
    def autoreload(self, line=""):
        args = self.autoreload.parse(line)
"""

from __future__ import annotations

import inspect


def argument(*args, **kwargs) -> tuple[tuple, dict]:
    """One argument, as `magic_arguments.argument` takes it."""
    return args, kwargs


def lazy_arguments(*arguments: tuple[tuple, dict]):
    """Declares the arguments of a magic method (in the order `--help` lists them)."""

    def wrap(func):
        return LazyArgumentsMagic(func, arguments)

    return wrap


class LazyArgumentsMagic:
    """The magic method, for its class; bound to an instance, a `_BoundMagic`."""

    def __init__(self, func, arguments):
        self.func = func
        self.arguments = arguments
        self.__name__ = func.__name__
        self.__qualname__ = func.__qualname__
        self.__module__ = func.__module__
        self._parser = None
        self._doc = None

    def defaults(self) -> dict:
        """Each argument's value when the line does not give it, as argparse sets it:
        without making the parser."""
        values = {}
        for args, kwargs in self.arguments:
            longest = max(args, key=len)
            dest = kwargs.get("dest", longest.lstrip("-").replace("-", "_"))
            if "default" in kwargs:
                values[dest] = kwargs["default"]
            elif kwargs.get("nargs") == "*" and not longest.startswith("-"):
                values[dest] = []  # an absent positional list is empty, not None
            else:
                values[dest] = False if kwargs.get("action") == "store_true" else None
        return values

    def __get__(self, instance, owner=None):
        return self if instance is None else _BoundMagic(self, instance)

    def __call__(self, instance, *args, **kwargs):
        return self.func(instance, *args, **kwargs)

    @property
    def parser(self):
        if self._parser is None:
            self._build()
        return self._parser

    @property
    def __doc__(self):
        if self._doc is None:
            self._build()
        return self._doc

    def _build(self) -> None:
        # Exactly what the decorators would have made at class creation: they are
        # applied innermost first, to a stand-in bearing the method's name and text.
        from IPython.core import magic_arguments

        def stand_in():
            pass

        stand_in.__name__ = self.func.__name__
        stand_in.__doc__ = self.func.__doc__
        for args, kwargs in reversed(self.arguments):
            stand_in = magic_arguments.argument(*args, **kwargs)(stand_in)
        stand_in = magic_arguments.magic_arguments()(stand_in)
        self._parser, self._doc = stand_in.parser, stand_in.__doc__


class _BoundMagic:
    """What IPython registers and calls: the method bound to its `Magics` instance,
    with the help as its docstring, and the method's own signature (`__signature__`
    comes before `__wrapped__`, whose docstring is not the help)."""

    def __init__(self, magic: LazyArgumentsMagic, instance):
        self._magic = magic
        self.__self__ = instance
        self.__name__ = magic.__name__
        self.__qualname__ = magic.__qualname__
        self.__module__ = magic.__module__
        # What IPython's ``%pinfo`` follows to the file the method is in.
        self.__wrapped__ = magic.func

    def __call__(self, *args, **kwargs):
        return self._magic.func(self.__self__, *args, **kwargs)

    def __eq__(self, other):
        same = isinstance(other, _BoundMagic)
        return same and other._magic is self._magic and other.__self__ is self.__self__

    def __hash__(self):
        return hash((id(self._magic), id(self.__self__)))

    @property
    def __doc__(self):
        return self._magic.__doc__

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self._magic.func.__get__(self.__self__))

    @property
    def parser(self):
        return self._magic.parser

    def parse(self, line: str):
        """The arguments `line` gives, as `magic_arguments.parse_argstring` parses them."""
        return self._magic.parser.parse_argstring(line)
