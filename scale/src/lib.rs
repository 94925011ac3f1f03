//! Scaling Kubernetes workloads the way `kubectl scale` does, and watching them to
//! readiness the way `kubectl rollout status` does.
//!
//! The steps are separate so that a front end can ask for confirmation in between:
//! [`client::connect`], [`target::parse`] and [`target::resolve`], [`scale::plan`]
//! (reads and checks preconditions), [`scale::apply`], then [`wait::wait_all`].
//! [`recommend::recommend`] sizes a replica count from a forecast for `--predict`.
//! Nothing here prints or prompts.

pub mod client;
pub mod error;
pub mod recommend;
pub mod scale;
pub mod target;
pub mod wait;

pub use client::{ClientOptions, Connection, connect};
pub use error::{Error, ErrorKind};
pub use recommend::{Reason, Recommendation, Sizing, SizingError, recommend};
pub use scale::{Applied, DryRun, Plan, Preconditions};
pub use target::{Pick, Request, ResourceType, Target, Workload};
pub use wait::{Outcome, PodProblem, Progress, Update, Waitable, Waited};
