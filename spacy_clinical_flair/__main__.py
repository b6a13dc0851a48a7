"""``python -m spacy_clinical_flair``: the command-line interface."""
from .cli import main

if __name__ == "__main__":
    main()
