"""De-identification: operators, surrogates, date shifts, keys, the clinical_flair_deidentify component, the leak measure."""
