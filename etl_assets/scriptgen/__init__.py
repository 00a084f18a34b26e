"""Generated ETL scripts: the template generator, the script store, expression policy and the sandbox launcher."""
