//! Gyre's package registry.
//!
//! A package (`namespace/name@version`) is one or more plugin components
//! with their manifests, stored as an OCI artifact (wasm config, one
//! `application/wasm` layer per component) and addressed by the digest of
//! its manifest. Packages live in an OCI distribution registry or in the
//! embedded registry (a local directory); both sit behind one
//! [`Backend`] trait and pass the same checks in [`fetch`]:
//!
//! - each namespace has a signed [`index`] with a growing version and an
//!   expiry; rollbacks, forks and stale indexes are refused ([`seen`]);
//! - every release is signed by its publisher ([`keys`]) and the signer
//!   must be trusted for the namespace ([`trust`]);
//! - tags must agree with the signed index, and a [`lock`]file pins each
//!   install to a digest;
//! - manifests, configs and components are checked against their digests,
//!   and components are read (never run) to check their manifests;
//! - what a package requests is shown and approved ([`consent`]) before it
//!   is installed, atomically ([`installed`]), and again on any upgrade
//!   that widens it.

pub mod artifact;
pub mod backend;
pub mod config;
pub mod consent;
mod digest;
mod error;
pub mod fetch;
mod fsx;
pub mod index;
pub mod installed;
pub mod keys;
pub mod lock;
mod package;
pub mod progress;
pub mod publish;
pub mod seen;
mod time;
pub mod trust;

pub use backend::{AnyBackend, Backend, LocalRegistry, OciRegistry};
pub use digest::Digest;
pub use error::{RegistryError, Result};
pub use installed::{InstallRecord, Installed, InstalledPlugin};
pub use keys::{PublicKey, SecretKey, Signature};
pub use package::{Namespace, PackageId, PackageName, PackageRef, Want};
pub use time::{Timestamp, parse_duration_secs};
pub use trust::TrustPolicy;
