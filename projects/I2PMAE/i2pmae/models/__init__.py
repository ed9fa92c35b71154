"""Model components of the I2P-MAE plugin."""
