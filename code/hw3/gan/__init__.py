"""Q2, the MNIST GAN: one module per concept.

    models   GANConfig, the spec MLP generator and discriminator, the DCGAN variant
    train    the training loop ((1) update D, (2) update G), generation, evaluation with the judge
    judge    the judge CNN whose features the metrics use, and its "real floor"
    metrics  classifier FID, k-NN precision and recall, class entropy, nearest neighbours
    sampling using a stored generator: samples, latent interpolation, nearest training digits
    study    the chapter's runs (judge, spec, study variants), the study table and its target
    figures  the chapter's figures (each takes results, returns a Figure; none trains)
    facts    `chapter()`: everything gan.qmd's prose states, as one `GANFacts`
    export   the spec and best generators for the page (`hw3 export web`), the page's latent walks

`python -m hw3.gan --study` trains (or loads) every run of the chapter.
"""

from __future__ import annotations

from . import export, facts, figures, judge, metrics, models, sampling, study, train
from .facts import GANFacts, chapter
from .judge import JudgeConfig
from .models import GANConfig
from .study import report_configs, study_configs

__all__ = ["GANConfig", "GANFacts", "JudgeConfig", "chapter", "export", "facts", "figures", "judge", "metrics", "models",
           "report_configs", "sampling", "study", "study_configs", "train"]
