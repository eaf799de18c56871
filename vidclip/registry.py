"""The registries: the one list of adapters, training tasks and dataset formats.

The config checks names against them, the CLI help lists them, the demo trains every adapter that
has a recipe. A registry fills itself on first use by importing the package that registers its
entries, so `import vidclip.registry` costs nothing and a name added with `register` anywhere is
choosable everywhere.
"""

from importlib import import_module

from vidclip.errors import ConfigError


class Registry:
    """name -> class or function, in registration order."""

    def __init__(self, kind: str, populate: str):
        self.kind, self._populate, self._entries, self._loaded = kind, populate, {}, False

    def register(self, name=None):
        """Decorator: `@REG.register` (uses the object's `name` attribute) or `@REG.register("name")`."""
        if callable(name) and not isinstance(name, str):
            return self.register()(name)

        def add(obj):
            key = name or obj.name
            if key in self._entries and self._entries[key] is not obj:
                raise ValueError(f"{self.kind} {key!r} is registered twice")
            self._entries[key] = obj
            return obj

        return add

    def _load(self):
        if not self._loaded:
            import_module(self._populate)  # registers the entries; a failed import fails every lookup loudly
            self._loaded = True
        return self._entries

    def __getitem__(self, name):
        entries = self._load()
        if name not in entries:
            raise ConfigError(f"unknown {self.kind} {name!r}; choose one of {', '.join(entries)}")
        return entries[name]

    def __contains__(self, name):
        return name in self._load()

    def __iter__(self):  # argparse `choices=` iterates (for help) and tests membership lazily
        return iter(list(self._load()))

    def __len__(self):
        return len(self._load())

    def names(self) -> list:
        return list(self._load())


ADAPTERS = Registry("adapter", populate="vidclip.adapters")
TASKS = Registry("task", populate="vidclip.train.tasks")
DATASETS = Registry("annotation format", populate="vidclip.data.formats")
