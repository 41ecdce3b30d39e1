"""ftk: fine-tune transformers with one command, on the Hugging Face stack."""

__version__ = "0.1.0"
