"""Plain maths over masks, photos and tables: cover, traits, their accuracy, uncertainty, season curves."""
