"""Products of the gateway in the archive: a found product's row opened in the SED, on the sky, and its
provenance (:class:`~widgets.products.view.ProductPanel`)."""
