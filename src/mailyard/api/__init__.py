"""HTTP plumbing shared by every dialect: token authentication and error rendering."""
