"""Training: config dataclasses and YAML layering (`config`), the loop, optimisation, distributed
setup and checkpoints. Importing this package does no work; import the submodule you need."""
