"""The demo business that ``tillbook demo`` seeds: Juniper & Rye Day Spa."""
