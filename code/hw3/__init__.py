"""Deep Learning Assignment 3: the package behind the report.

Modules: `utils` (paths, seeding, devices), `runs` (the run store), `data` (MNIST and IMDb, offline
safe), `text` (tokenizer, vocabulary, length-grouped batches), `plots` (shared style), one module per
experiment, and `cli` (the `hw3` command).
"""

__version__ = "0.1.0"
