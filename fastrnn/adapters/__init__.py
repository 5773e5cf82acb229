"""Adapters to other libraries' estimator interfaces (each module imports its library on import).

- :mod:`fastrnn.adapters.sktime`: :class:`~fastrnn.adapters.sktime.SktimeRNNForecaster`, an
  sktime forecaster around :class:`fastrnn.RNNForecaster` (needs ``pip install fastrnn[sktime]``).
"""
