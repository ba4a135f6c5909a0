"""Pet grooming: pets, vaccinations, size and coat pricing, report cards."""
