"""epro: electronic patient-reported outcomes for paediatric rheumatology trials."""

__version__ = "0.1.0"
