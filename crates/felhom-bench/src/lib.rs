//! Nothing to link: the measuring program is the bench target `agentapi`
//! (`cargo bench -p felhom-bench`); see BENCHMARKS.md.
