"""etl_config.yaml: the pydantic models (`models`), and the loader (`loader`) that reads, layers and validates the file."""
