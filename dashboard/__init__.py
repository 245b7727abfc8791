"""The judgescope Streamlit dashboard: a thin view over `analysis`."""
