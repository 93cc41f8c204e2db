"""The analysis job definitions: parameters and results of `spectrum`, `lightcurve`, `skymap`.

This module is imported by the job service, so it must stay light: it only describes the jobs.
The science lives in the modules named by each definition's ``run`` path, imported by the
worker when a job starts.
"""

from __future__ import annotations

from portal.jobs.binning import RECO_PER_DECADE, RECO_PER_DECADE_RANGE, check_lightcurve, check_spectrum
from portal.jobs.choices import STACK_LOW_COUNTS, STACK_MANY_RUNS, check_choices
from portal.jobs.skymap_size import check_skymap
from portal.uws.definitions import JobDefinition, Parameter, ResultSpec

FITS = "application/fits"
YAML = "application/x-yaml"
PNG = "image/png"
JSON = "application/json"
TAR = "application/x-tar"

INPUTS = ResultSpec("inputs", JSON, "The observations that entered the result and those left out, each with "
                    "the reason: {\"used\": [obs ids], \"left_out\": [{\"obs_id\": ..., \"reason\": ...}]}, "
                    "and the choices the analysis made itself (\"decisions\": whether it stacked, and why).")
DATASETS = ResultSpec("datasets", TAR, "The reduced datasets that were fitted (one on/off spectrum per observation, "
                      "or the stacked one) with the fitted model, in gammapy's own format: a tar of datasets.yaml, "
                      "the FITS spectra and models.yaml; unpacked, gammapy's Datasets.read('datasets.yaml', "
                      "filename_models='models.yaml') reads them back.")
MODELS = ("pl", "ecpl", "lp")
MODEL_NAMES = ("power law", "power law with exponential cut-off", "log-parabola")  # as astronomers say them
STACK_NAMES = ("auto (decided from the data)", "stack all observations", "fit each observation's own spectrum")
MODEL_HELP = ("Spectral model: power law (pl), power law with exponential cut-off (ecpl) or log-parabola (lp). "
              "The log-parabola is gammapy's, with the natural log: dN/dE = amplitude (E/E0)^-(alpha + beta ln(E/E0)); "
              "papers often use log10, whose beta is ln(10) = 2.303 times this one.")


def _target_parameters(on_radius: bool = True) -> tuple[Parameter, ...]:
    params = (
        Parameter("obs_ids", "obs-list", "Observations to analyse, by archive obs id, comma-separated; write "
                  "<collection>/<obs_id> (e.g. hess-dl3-dr1/23523) for an id that several collections hold.",
                  ucd="meta.id;obs", column="obs_id", label="Observations"),
        Parameter("ra", "float", "Right ascension of the target (ICRS).", unit="deg", minimum=0.0, maximum=360.0,
                  ucd="pos.eq.ra;meta.main", label="Right ascension"),
        Parameter("dec", "float", "Declination of the target (ICRS).", unit="deg", minimum=-90.0, maximum=90.0,
                  ucd="pos.eq.dec;meta.main", label="Declination"),
    )
    if on_radius:
        params += (
            Parameter("on_radius", "float", "Radius of the circular on region around the target.",
                      default=0.11, unit="deg", minimum=0.02, maximum=1.0, ucd="phys.angSize;src",
                      label="On-region radius"),
        )
    return params


CONTAINMENT = Parameter(
    "containment_correction", "bool", "With full-enclosure IRFs, correct the exposure for the PSF's containment "
    "in the on region (true fluxes of a point source, as gammapy's spectral tutorial does); false gives the "
    "flux inside the region only. Point-like IRFs already include their cut.", default=True,
    label="Containment correction")

SAFE_RANGES = ("auto", "thresholds", "aeff-max", "edisp-bias", "aeff-max+edisp-bias", "fixed")
SAFE_RANGE_NAMES = ("auto (thresholds, else effective area)", "instrument thresholds", "effective-area maximum",
                    "energy bias", "effective area and energy bias", "fixed threshold")
ALLOW_PARTIAL = Parameter(
    "allow_partial", "bool", "Go on when more than half of the observations cannot be used (each left-out "
    "observation and its reason are in the inputs result); by default such a job ends in ERROR.", default=False,
    label="Go on with partial data")


def _choices() -> tuple[Parameter, ...]:
    """The analysis choices of the 1D analyses (spectrum, light curve); defaults keep the earlier results."""
    return (
        Parameter("reco_bins_per_decade", "int", "Bins per decade of the reduction's reconstructed-energy axis "
                  "(log-spaced, edges at 1 TeV times powers of 10^(1/n)); the flux-point edges and the fit range snap "
                  "to it. Only bins wholly above an observation's safe threshold are used, so a coarse axis raises "
                  f"the thresholds: {RECO_PER_DECADE} (the default, as the joint-crab paper and gammapy's tutorials) "
                  "keeps the H.E.S.S. DR1 thresholds within 7 %, 10 raised them by up to 20 %.",
                  default=RECO_PER_DECADE, minimum=RECO_PER_DECADE_RANGE[0], maximum=RECO_PER_DECADE_RANGE[1],
                  label="Reconstructed-energy bins per decade"),
        Parameter("fit_e_min", "float", "Lower end of the fit's energy range (reconstructed energy, snapped to "
                  "the reco_bins_per_decade binning); unset: every safe energy.", default=None, unit="TeV",
                  minimum=0.01, maximum=300.0, label="Fit range from"),
        Parameter("fit_e_max", "float", "Upper end of the fit's energy range; unset: every safe energy.",
                  default=None, unit="TeV", minimum=0.01, maximum=1000.0, label="Fit range up to"),
        Parameter("safe_range", "choice", "Safe energy range of each observation (gammapy's SafeMaskMaker): "
                  "thresholds = the instrument's own LO_THRES/HI_THRES; aeff-max = where the effective area "
                  "exceeds aeff_percent of its maximum; edisp-bias = above the energy where the energy bias "
                  "is below bias_percent; auto = thresholds when the IRFs carry them, else aeff-max; fixed = above "
                  "e_threshold for every observation (IRFs without thresholds, such as FACT's).",
                  default="auto", choices=SAFE_RANGES, label="Safe energy range", choice_labels=SAFE_RANGE_NAMES),
        Parameter("e_threshold", "float", "With safe_range=fixed: the energy threshold of every observation "
                  "(reconstructed energy; the bins wholly above it are used).", default=None, unit="TeV",
                  minimum=0.01, maximum=100.0, label="Fixed energy threshold"),
        Parameter("aeff_percent", "float", "For aeff-max (and auto without thresholds): the percentage of the "
                  "effective area's maximum.", default=10.0, unit="%", minimum=0.0, maximum=100.0,
                  label="Effective-area threshold"),
        Parameter("bias_percent", "float", "For edisp-bias: the largest energy bias allowed, in percent.",
                  default=10.0, unit="%", minimum=0.0, maximum=100.0, label="Energy-bias limit"),
        Parameter("offset_max", "float", "Leave out observations whose pointing is farther than this from the "
                  "target (SafeMaskMaker offset-max); unset: the IRFs' own extent.", default=None, unit="deg",
                  minimum=0.1, maximum=10.0, label="Largest pointing offset"),
        Parameter("n_off_regions", "int", "Point-like IRFs with an energy-dependent cut (RAD_MAX_2D): the on "
                  "region is the IRFs' cut around the target and the background comes from this many wobble "
                  "regions at the same offset.", default=3, minimum=1, maximum=8, label="Number of off regions"),
        Parameter("exclusion", "string", "What to keep out of the background estimate: auto = the target (with its "
                  "catalog counterparts) and the known sources around it (HGPS, gamma-cat); none = nothing (the "
                  "off regions still never overlap the on region); or circles 'ra dec radius' in degrees (ICRS), "
                  "separated by ';'.", default="auto", label="Exclusion regions"),
        ALLOW_PARTIAL,
    )


def _check_spectrum(params: dict) -> None:
    check_spectrum(params)
    check_choices(params)


def _check_lightcurve(params: dict) -> None:
    check_lightcurve(params)
    check_choices(params)


# The job service adds `log` (what the job logged, readable while it runs) and `provenance`
# (IVOA ProvDM, built from what the job declared it used and the results it published) to
# every job; the definitions below list only what the analyses themselves publish.

# read by the job service's fork server before any job: the exclusion catalogs
PRELOAD = ("portal.jobs.preload",)

SPECTRUM = JobDefinition(
    name="spectrum",
    description=(
        "1D on/off spectral analysis around (ra, dec): reflected-region background with bright known "
        "sources excluded, a safe energy range per observation, a joint likelihood fit of the chosen "
        "spectral model, then flux points with errors, upper limits and likelihood profiles. Flux points "
        "are published bin by bin while the job runs."
    ),
    run="portal.jobs.spectrum:run",
    parameters=_target_parameters() + (
        Parameter("model", "choice", MODEL_HELP, default="pl", choices=MODELS,
                  label="Spectral model", choice_labels=MODEL_NAMES),
        Parameter("e_min", "float", "Lower edge of the first flux point.", default=1.0, unit="TeV",
                  minimum=0.05, maximum=100.0, label="Flux points from"),
        Parameter("e_max", "float", "Upper edge of the last flux point.", default=30.0, unit="TeV",
                  minimum=0.1, maximum=300.0, label="Flux points up to"),
        Parameter("n_bins", "int", "Number of flux points, log-spaced between e_min and e_max, their edges "
                  "snapped to the analysis's reconstructed-energy bins (reco_bins_per_decade).", default=8,
                  minimum=1, maximum=30, label="Number of flux points"),
        CONTAINMENT,
        Parameter("sensitivity", "bool", "Also compute each flux point's sensitivity (the flux a 5 sigma detection "
                  "would need, from Asimov datasets): about two thirds more time per point, and nothing the SED "
                  "shows needs it.", default=False, label="Sensitivity per flux point"),
        Parameter("stack", "choice", "Fit one stacked spectrum of all observations (true) or every observation's own "
                  "spectrum jointly (false). auto stacks when a joint fit over separate runs is not safe: more than "
                  f"{STACK_MANY_RUNS} runs, or a median run with fewer than {STACK_LOW_COUNTS:g} on counts per fitted "
                  "bin (many background nuisance parameters with few counts bias the fit), and when a fit over "
                  "separate runs lands on values no source has. The inputs result says what was done and why.",
                  default="auto", choices=("auto", "true", "false"),
                  label="Stack the observations", choice_labels=STACK_NAMES),
    ) + _choices(),
    results=(
        ResultSpec("flux_points", FITS, "Flux points, gadf SED format with sed_type likelihood "
                   "(norm, errors, upper limits and the norm-scan likelihood profiles)."),
        ResultSpec("model", YAML, "Fitted model as gammapy models YAML, with values, errors and covariance."),
        DATASETS,
        INPUTS,
    ),
    validate=_check_spectrum,
    preload=PRELOAD,
)

LIGHTCURVE = JobDefinition(
    name="lightcurve",
    description=(
        "Light curve of the integral flux above a threshold, per observation or per night, from a 1D "
        "on/off analysis with reflected-region background. The spectral shape is a power law fitted "
        "jointly to all observations; each time bin refits its normalisation. Upper limits where the "
        "signal is not significant."
    ),
    run="portal.jobs.lightcurve:run",
    parameters=_target_parameters() + (
        Parameter("e_min", "float", "Energy threshold of the integral flux.", default=1.0, unit="TeV",
                  minimum=0.05, maximum=100.0, label="Integral flux from"),
        Parameter("e_max", "float", "Upper energy of the integral flux.", default=100.0, unit="TeV",
                  minimum=0.1, maximum=300.0, label="Integral flux up to"),
        Parameter("time_bin", "choice", "One flux per observation (run) or per night.", default="run",
                  choices=("run", "night"), label="Time bins", choice_labels=("per observation (run)", "per night")),
        CONTAINMENT,
    ) + _choices(),
    results=(
        ResultSpec("lightcurve", FITS, "Light curve in the gadf light-curve format (flux, errors, upper limits)."),
        ResultSpec("model", YAML, "The power law fitted to all observations, gammapy models YAML."),
        ResultSpec("preview", PNG, "Plot of the light curve."),
        INPUTS,
    ),
    validate=_check_lightcurve,
    preload=PRELOAD,
)

SKYMAP = JobDefinition(
    name="skymap",
    description=(
        "Counts, excess and significance maps around (ra, dec): stacked map analysis with the field-of-view "
        "background normalised outside the known sources, significance from a correlated (top-hat) "
        "Li & Ma / Cash test statistic."
    ),
    run="portal.jobs.skymap:run",
    parameters=_target_parameters(on_radius=False) + (
        Parameter("width", "float", "Width of the square map.", default=4.0, unit="deg", minimum=0.2, maximum=10.0,
                  label="Map width"),
        Parameter("binsz", "float", "Pixel size.", default=0.02, unit="deg", minimum=0.005, maximum=0.2,
                  label="Pixel size"),
        Parameter("e_min", "float", "Lower energy of the maps.", default=0.5, unit="TeV", minimum=0.05, maximum=100.0,
                  label="Map energies from"),
        Parameter("e_max", "float", "Upper energy of the maps.", default=100.0, unit="TeV", minimum=0.1,
                  maximum=300.0, label="Map energies up to"),
        Parameter("correlation_radius", "float", "Radius of the top-hat correlation for excess and significance.",
                  default=0.1, unit="deg", minimum=0.0, maximum=1.0, label="Correlation radius"),
        ALLOW_PARTIAL,
    ),
    results=(
        ResultSpec("counts", FITS, "Counts map (WCS image)."),
        ResultSpec("excess", FITS, "Correlated excess map (WCS image)."),
        ResultSpec("significance", FITS, "Significance map, sqrt(TS) with sign (WCS image)."),
        ResultSpec("preview", PNG, "Counts, excess and significance side by side."),
        INPUTS,
    ),
    validate=check_skymap,  # the map's size: pixels across and pixels x energy bins
    preload=PRELOAD,
)

def _check_joint(params: dict) -> None:
    check_spectrum({**params, "fit_e_min": None, "fit_e_max": None})


JOINT_SPECTRUM = JobDefinition(
    name="joint_spectrum",
    description=(
        "Joint fit across instruments: one spectral model fitted to the reduced datasets of several of your "
        "completed spectrum jobs at once (the forward-folded joint likelihood, each instrument with its own "
        "responses, safe and fit ranges, as in the joint-crab paper), then joint flux points. The provenance "
        "records the jobs' datasets it used and derives the products from them."
    ),
    run="portal.jobs.joint:run",
    parameters=(
        Parameter("jobs", "string", "The spectrum jobs to fit together: their ids or URLs, comma-separated "
                  "(your own, COMPLETED).", ucd="meta.id", label="Spectrum jobs"),
        Parameter("model", "choice", MODEL_HELP, default="lp", choices=MODELS,
                  label="Spectral model", choice_labels=MODEL_NAMES),
        Parameter("reference", "float", "Reference energy of the model (where the amplitude is given).",
                  default=1.0, unit="TeV", minimum=0.01, maximum=100.0, label="Reference energy"),
        Parameter("e_min", "float", "Lower edge of the first joint flux point.", default=0.1, unit="TeV",
                  minimum=0.01, maximum=100.0, label="Joint flux points from"),
        Parameter("e_max", "float", "Upper edge of the last joint flux point.", default=30.0, unit="TeV",
                  minimum=0.1, maximum=300.0, label="Joint flux points up to"),
        Parameter("n_bins", "int", "Number of joint flux points, log-spaced between e_min and e_max.", default=10,
                  minimum=1, maximum=40, label="Number of joint flux points"),
    ),
    results=(
        ResultSpec("flux_points", FITS, "Joint flux points (every dataset together), gadf SED format with "
                   "sed_type likelihood and the likelihood profiles."),
        ResultSpec("model", YAML, "The jointly fitted model, gammapy models YAML with values, errors and covariance."),
        DATASETS,
        ResultSpec("inputs", JSON, "The spectrum jobs fitted: {\"jobs\": [{\"job_id\", \"datasets\", "
                   "\"obs_ids\", \"sha256\"}]}."),
    ),
    validate=_check_joint,
)

DEFINITIONS: tuple[JobDefinition, ...] = (SPECTRUM, LIGHTCURVE, SKYMAP, JOINT_SPECTRUM)
