"""Fitness studio: class packs, memberships, roll call and instructor pay."""
