"""Deep Learning Assignment 3: the package behind the report.

The core, which every part uses: `utils` (paths, seeding, devices, atomic files), `runs` (the run
store), `data` (MNIST and IMDb, offline safe), `text` (tokenizer, vocabulary, length-grouped batches),
`plots` (shared style), `fmt` (numbers and words as the chapters print them), `report` (the front page)
and `cli` (the `hw3` command).

One subpackage per question, each importing the core and never another part: `theory` (Q1, five
essays), `gan` (Q2, the MNIST GAN) and `sentiment` (Q3, the IMDb GRU with attention).
"""

__version__ = "0.1.0"
