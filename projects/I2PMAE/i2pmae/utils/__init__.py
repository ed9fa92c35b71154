"""Helpers of the I2P-MAE plugin."""
