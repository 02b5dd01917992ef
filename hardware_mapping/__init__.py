"""hardware_mapping package."""
