"""What a chapter's setup imports: the package behind the documents loads without the heavy libraries only
training needs (scikit-learn, torchvision) or that only styled plots (seaborn): each is a second or more of
every document's render, in a fresh kernel."""

import subprocess
import sys

HEAVY = ("sklearn", "seaborn", "torchvision", "scipy.stats")


def test_the_chapters_packages_import_without_training_only_libraries():
    code = ("import sys; import hw3.theory, hw3.gan, hw3.sentiment, hw3.report, hw3.tables, hw3.fmt; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "", f"imported at render time: {done.stdout.strip()}"
