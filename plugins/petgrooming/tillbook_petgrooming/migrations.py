"""Schema steps of the pet-grooming plugin, applied when a tenant enables it.

Each step declares frozen copies of the tables as they were when the step
was written, so later changes to ``tables.py`` never change what an old step
creates. Add a new step with a new id for every schema change.
"""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Date, Text, Timestamptz, Varchar
from piccolo.table import Table

from tillbook import PluginMigration


class Pet(Table, tablename="petgrooming_pet"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    client_id = UUID(index=True)
    name = Varchar(length=100)
    species = Varchar(length=20, default="dog")
    breed = Varchar(length=100, default="")
    size = Varchar(length=10, default="medium")
    coat = Varchar(length=10, default="short")
    temperament = Varchar(length=200, default="")
    notes = Text(default="")
    active = Boolean(default=True)
    created_at = Timestamptz()


class PetVaccination(Table, tablename="petgrooming_vaccination"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    pet_id = UUID(index=True)
    name = Varchar(length=60)
    expires_on = Date()


class GroomingVisit(Table, tablename="petgrooming_visit"):
    tenant_id = UUID(index=True)
    id = UUID(primary_key=True)
    appointment_id = UUID(index=True)
    pet_id = UUID(index=True)
    checked_in_at = Timestamptz(null=True, default=None)
    notes = Text(default="")
    services_done = Text(default="")
    products_used = Text(default="")
    behaviour = Varchar(length=200, default="")
    finished_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


MIGRATIONS = [
    PluginMigration(
        id="2026-12-04T19:20 pets",
        description="pets, vaccinations and grooming visits",
        tables=(Pet, PetVaccination, GroomingVisit),
        statements=(
            # One visit row per pet per appointment.
            "CREATE UNIQUE INDEX IF NOT EXISTS petgrooming_visit_pet"
            " ON petgrooming_visit (tenant_id, appointment_id, pet_id)",
            "CREATE INDEX IF NOT EXISTS petgrooming_pet_client"
            " ON petgrooming_pet (tenant_id, client_id)",
        ),
    )
]
