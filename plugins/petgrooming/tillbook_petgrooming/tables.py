"""The pet-grooming plugin's tables: pets, their vaccinations, grooming visits.

Every table name starts with ``petgrooming_``, apart from kernel tables and
other plugins' tables.
"""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Date, Text, Timestamptz, Varchar

from tillbook import TenantTable


class Pet(TenantTable, tablename="petgrooming_pet"):
    """A client's pet: the dependent that a grooming appointment is for."""

    client_id = UUID(index=True)
    name = Varchar(length=100)
    species = Varchar(length=20, default="dog")
    breed = Varchar(length=100, default="")
    # toy, small, medium, large or giant
    size = Varchar(length=10, default="medium")
    # short, double, long, curly or wire
    coat = Varchar(length=10, default="short")
    temperament = Varchar(length=200, default="")
    notes = Text(default="")
    active = Boolean(default=True)
    created_at = Timestamptz()


class PetVaccination(TenantTable, tablename="petgrooming_vaccination"):
    """One vaccination of a pet and the last day it is valid."""

    pet_id = UUID(index=True)
    name = Varchar(length=60)
    expires_on = Date()


class GroomingVisit(TenantTable, tablename="petgrooming_visit"):
    """One pet's part of one appointment, from booking to checkout.

    Created when the appointment is booked for a pet. The groomer fills in
    check-in, the treatment log (notes, services done, products used) and
    the time the groom finished. The receipt's report card is read from here.
    """

    appointment_id = UUID(index=True)
    pet_id = UUID(index=True)
    checked_in_at = Timestamptz(null=True, default=None)
    notes = Text(default="")
    services_done = Text(default="")
    products_used = Text(default="")
    behaviour = Varchar(length=200, default="")
    finished_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
