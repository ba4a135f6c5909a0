"""Salon: colour formulas, hair-length variants, stylist commission and rebooking."""
