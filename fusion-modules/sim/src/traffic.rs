//! Traffic that moves plausibly: vehicles, cyclists and pedestrians that
//! follow lanes and paths, keep their distance (the Intelligent Driver
//! Model), stop at red lights, change lanes and cut in, around an ego
//! vehicle that drives a highway or waits at an intersection.
//!
//! The world is simulated in fixed ticks of [`TICK_NS`] from a seeded
//! generator, so its state at a time never depends on when or how often it
//! is looked at: [`Traffic::scene_at`] extrapolates from the last tick
//! without changing anything.

use core::f64::consts::{FRAC_PI_2, FRAC_PI_3, PI};

use fusion_msgs::autoware_perception_msgs::ObjectClassification as Class;
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::actors::{Actor, Scene, default_dimensions};
use crate::path::{Path, PathPose};
use crate::scenes::HIGHWAY_LANES;

/// The traffic simulation's time step (10 ms).
pub const TICK_NS: i64 = 10_000_000;
const TICK_S: f64 = TICK_NS as f64 * 1e-9;
/// How long traffic runs before the drive starts, so it starts in a
/// steady state rather than from an empty road.
const WARM_UP_S: f64 = 30.0;
/// No more actors than this at a time.
pub const MAX_ACTORS: usize = 40;
/// The ego's speed on the highway (m/s, 90 km/h).
pub const HIGHWAY_EGO_SPEED: f64 = 25.0;
/// Centre of the ego's box in `base_link` (the origin is the rear axle).
const EGO_CENTRE_X: f64 = 1.3;
const EGO_LENGTH: f64 = 4.7;
const EGO_WIDTH: f64 = 1.9;

/// A named drive: where the ego is and what happens around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// A four-lane highway at 90 km/h: lane keeping, overtaking, lane
    /// changes and cut-ins in front of the ego.
    Highway,
    /// The ego waits at a signalised crossing (to turn left, yielding):
    /// cross traffic and turning vehicles, oncoming traffic passing close,
    /// cyclists, pedestrians on crosswalks and sidewalks, parked cars.
    UrbanIntersection,
    /// The highway, with sensors failing: a camera, a radar, all cameras,
    /// the LiDAR for a second and single scans lost at random.
    SensorDropout,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Scenario; 3] = [
        Scenario::Highway,
        Scenario::UrbanIntersection,
        Scenario::SensorDropout,
    ];

    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Highway => "highway",
            Scenario::UrbanIntersection => "urban-intersection",
            Scenario::SensorDropout => "sensor-dropout",
        }
    }

    /// The scenario called `name` ([`Scenario::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    /// One line on what happens in it.
    pub fn description(self) -> &'static str {
        match self {
            Scenario::Highway => {
                "four-lane highway at 90 km/h: lane keeping, overtaking, lane changes, cut-ins"
            }
            Scenario::UrbanIntersection => {
                "ego waiting at a signalised crossing: cross and turning traffic, cyclists, pedestrians"
            }
            Scenario::SensorDropout => {
                "the highway with a camera, a radar, all cameras and the LiDAR dropping out"
            }
        }
    }

    fn ego_speed(self) -> f64 {
        match self {
            Scenario::UrbanIntersection => 0.0,
            Scenario::Highway | Scenario::SensorDropout => HIGHWAY_EGO_SPEED,
        }
    }
}

/// Which signal an agent obeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    /// Green for the first half of the cycle (but its last seconds).
    CrossRoad,
    /// Green for the second half (the ego's road), likewise.
    EgoRoad,
}

/// Signal cycle of the intersection (s) and the yellow at the end of
/// each green.
const CYCLE_S: f64 = 30.0;
const YELLOW_S: f64 = 3.0;
const ALL_RED_S: f64 = 3.0;

/// One traffic participant and how it drives.
#[derive(Debug, Clone)]
struct Agent {
    id: u32,
    label: u8,
    dims: (f64, f64, f64),
    path: Path,
    /// Arc length along `path` of the centre (m).
    s: f64,
    /// Speed along the path (m/s, world frame).
    v: f64,
    desired: f64,
    accel: f64,
    /// Minimum gap and time headway of the car-following model.
    min_gap: f64,
    headway: f64,
    /// The signal it stops for and the arc length of its stop line.
    stop: Option<(Signal, f64)>,
    /// Highway lane index.
    lane: Option<usize>,
    /// Arc length where a lane change in progress ends.
    changing_until: f64,
    /// Removed once past this arc length.
    end: f64,
    parked: bool,
    /// World pose at the last tick and turn rate over it.
    pose: PathPose,
    yaw_rate: f64,
}

impl Agent {
    fn new(id: u32, label: u8, path: Path, desired: f64) -> Self {
        let pedestrian = label == Class::PEDESTRIAN;
        let end = path.length();
        let pose = path.pose_at(0.0);
        Agent {
            id,
            label,
            dims: default_dimensions(label),
            path,
            s: 0.0,
            v: desired,
            desired,
            accel: if pedestrian { 1.0 } else { 1.5 },
            min_gap: if pedestrian { 0.4 } else { 2.0 },
            headway: if pedestrian { 0.5 } else { 1.4 },
            stop: None,
            lane: None,
            changing_until: 0.0,
            end,
            parked: false,
            pose,
            yaw_rate: 0.0,
        }
    }
}

/// Something an agent may have to keep its distance from.
#[derive(Debug, Clone, Copy)]
struct Obstacle {
    x: f64,
    y: f64,
    length: f64,
    width: f64,
    heading: f64,
    pedestrian: bool,
    /// World velocity.
    vx: f64,
    vy: f64,
}

/// The traffic of a scenario, from a seed.
#[derive(Debug, Clone)]
pub struct Traffic {
    scenario: Scenario,
    agents: Vec<Agent>,
    next_id: u32,
    /// Ticks since the drive started (negative during warm-up).
    tick: i64,
    rng: Pcg64Mcg,
    next_cut_in_s: f64,
    obstacles: Vec<Obstacle>,
    /// The ego's world x (of `base_link`'s origin) and speed: it keeps its
    /// lane at the scenario's speed, and its distance like everyone else.
    ego_x: f64,
    ego_v: f64,
    /// Entries (bit per entry) with an arrival waiting for room.
    waiting: u8,
}

impl Traffic {
    /// The traffic of `scenario` at the start of the drive (after a
    /// warm-up, so the road is already busy).
    pub fn new(scenario: Scenario, seed: u64) -> Self {
        let mut traffic = Traffic {
            scenario,
            agents: Vec::new(),
            next_id: 1,
            tick: -((WARM_UP_S / TICK_S) as i64),
            rng: Pcg64Mcg::seed_from_u64(seed ^ 0x7472_6166_6669_6321),
            next_cut_in_s: 0.0,
            obstacles: Vec::with_capacity(MAX_ACTORS + 8),
            ego_x: 0.0,
            ego_v: scenario.ego_speed(),
            waiting: 0,
        };
        traffic.next_cut_in_s = traffic.rng.random_range(3.0..6.0);
        match scenario {
            Scenario::Highway | Scenario::SensorDropout => traffic.populate_highway(),
            Scenario::UrbanIntersection => traffic.populate_intersection(),
        }
        while traffic.tick < 0 {
            traffic.step();
        }
        traffic
    }

    /// Time since the drive started, at the last tick (s).
    pub fn time_s(&self) -> f64 {
        self.tick as f64 * TICK_S
    }

    /// Number of actors now.
    pub fn actor_count(&self) -> usize {
        self.agents.len()
    }

    /// Steps the simulation until its last tick is the last one at or
    /// before `t_ns` after the drive's start.
    pub fn advance_to(&mut self, t_ns: i64) {
        while (self.tick + 1).saturating_mul(TICK_NS) <= t_ns {
            self.step();
        }
    }

    /// The scene in `base_link` at `t_ns` after the drive's start,
    /// extrapolated from the last tick (which should be within a tick of
    /// it): every actor, with its velocity relative to the ego.
    pub fn scene_at(&self, t_ns: i64) -> Scene {
        let dt = t_ns as f64 * 1e-9 - self.time_s();
        let (ego_x, ego_speed) = (self.ego_x, self.ego_v);
        let actors = self
            .agents
            .iter()
            .map(|a| {
                let (s, c) = a.pose.heading.sin_cos();
                // World velocity minus the ego's, in the actor's axes.
                let (rvx, rvy) = (a.v * c - ego_speed, a.v * s);
                let mut actor = Actor::new(
                    a.id,
                    a.label,
                    a.pose.x - ego_x,
                    a.pose.y,
                    a.pose.heading,
                    0.0,
                );
                (actor.length, actor.width, actor.height) = a.dims;
                actor.speed = rvx * c + rvy * s;
                actor.lateral_speed = -rvx * s + rvy * c;
                actor.yaw_rate = a.yaw_rate;
                actor.advance(dt);
                actor
            })
            .collect();
        Scene::new(actors)
    }

    /// One tick: spawn, drive, remove.
    fn step(&mut self) {
        let t = self.time_s();
        match self.scenario {
            Scenario::Highway | Scenario::SensorDropout => {
                self.spawn_highway();
                self.lane_changes(t);
            }
            Scenario::UrbanIntersection => self.spawn_intersection(t),
        }
        self.drive(t);
        let ego_x = self.ego_x;
        self.agents.retain(|a| {
            let rel = a.pose.x - ego_x;
            a.s < a.end && (-120.0..240.0).contains(&rel) && a.pose.y.abs() < 100.0
        });
        self.tick += 1;
    }

    /// Car following for every agent, then the move.
    fn drive(&mut self, t: f64) {
        self.obstacles.clear();
        let ego = Obstacle {
            x: self.ego_x + EGO_CENTRE_X,
            y: 0.0,
            length: EGO_LENGTH,
            width: EGO_WIDTH,
            heading: 0.0,
            pedestrian: false,
            vx: self.ego_v,
            vy: 0.0,
        };
        self.obstacles.push(ego);
        for a in &self.agents {
            let (s, c) = a.pose.heading.sin_cos();
            self.obstacles.push(Obstacle {
                x: a.pose.x,
                y: a.pose.y,
                length: a.dims.0,
                width: a.dims.1,
                heading: a.pose.heading,
                pedestrian: a.label == Class::PEDESTRIAN,
                vx: a.v * c,
                vy: a.v * s,
            });
        }
        // The ego follows too (on the highway; in town it waits).
        let desired = self.scenario.ego_speed();
        if desired > 0.0 {
            let lead = lead(&ego, 0.0, 0, &self.obstacles);
            let acc = idm(self.ego_v, desired, 1.5, 2.0, 1.4, lead);
            self.ego_v = (self.ego_v + acc * TICK_S).max(0.0);
            self.ego_x += self.ego_v * TICK_S;
        }
        for (i, a) in self.agents.iter_mut().enumerate() {
            if a.parked {
                continue;
            }
            let me = self.obstacles[i + 1];
            let mut lead = lead(&me, a.pose.heading, i + 1, &self.obstacles);
            if let Some((signal, line)) = a.stop {
                let gap = line - (a.s + 0.5 * a.dims.0);
                let comfortable = a.v * a.v / (2.0 * 3.0);
                if gap > -0.5
                    && !green(signal, t, gap > comfortable)
                    && lead.is_none_or(|(g, _)| gap < g)
                {
                    lead = Some((gap.max(0.0), 0.0));
                }
            }
            let acc = idm(a.v, a.desired, a.accel, a.min_gap, a.headway, lead);
            a.v = (a.v + acc * TICK_S).max(0.0);
            a.s += a.v * TICK_S;
            let pose = a.path.pose_at(a.s);
            a.yaw_rate = crate::geom::wrap_angle(pose.heading - a.pose.heading) / TICK_S;
            a.pose = pose;
        }
    }

    fn id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn vehicle_label(&mut self, heavy_allowed: bool) -> u8 {
        let roll: f64 = self.rng.random();
        match roll {
            r if r < 0.08 && heavy_allowed => Class::TRUCK,
            r if r < 0.13 && heavy_allowed => Class::BUS,
            r if r > 0.92 => Class::MOTORCYCLE,
            _ => Class::CAR,
        }
    }

    // ----- highway -----

    fn lane_speed(&mut self, lane: usize, ahead_of_ego: bool) -> f64 {
        let v = HIGHWAY_EGO_SPEED;
        match lane {
            0 => self.rng.random_range(v - 5.0..v - 2.5),
            1 if ahead_of_ego => self.rng.random_range(v + 1.5..v + 3.0),
            1 => self.rng.random_range(v - 0.5..v + 0.5),
            2 => self.rng.random_range(v + 3.5..v + 6.0),
            _ => self.rng.random_range(v + 6.5..v + 10.0),
        }
    }

    fn highway_agent(&mut self, lane: usize, x: f64, ahead_of_ego: bool) -> Agent {
        let label = self.vehicle_label(lane < 2);
        let desired = self.lane_speed(lane, ahead_of_ego);
        let id = self.id();
        let mut agent = Agent::new(
            id,
            label,
            Path::straight((x, HIGHWAY_LANES[lane]), 0.0, 1e6),
            desired,
        );
        agent.lane = Some(lane);
        agent
    }

    fn populate_highway(&mut self) {
        let ego_x = self.ego_x;
        for lane in 0..HIGHWAY_LANES.len() {
            let mut x: f64 = self.rng.random_range(-90.0..-60.0);
            while x < 200.0 {
                let clear_of_ego = lane != 1 || x.abs() > 15.0;
                if clear_of_ego && self.agents.len() < MAX_ACTORS - 10 {
                    let agent = self.highway_agent(lane, ego_x + x, x > 0.0);
                    self.agents.push(agent);
                }
                x += self.rng.random_range(30.0..65.0);
            }
        }
    }

    /// Whether highway lane `lane` is free from `from` to `to` metres
    /// ahead of the world point `x` (the ego counts in lane 1).
    fn lane_free(&self, lane: usize, x: f64, from: f64, to: f64) -> bool {
        let ego_x = self.ego_x + EGO_CENTRE_X;
        let y = HIGHWAY_LANES[lane];
        let ego_blocks = y.abs() < 1.0 && (from..to).contains(&(ego_x - x));
        !ego_blocks
            && self
                .agents
                .iter()
                .all(|a| (a.pose.y - y).abs() > 1.5 || !(from..to).contains(&(a.pose.x - x)))
    }

    fn spawn_highway(&mut self) {
        if self.agents.len() >= MAX_ACTORS {
            return;
        }
        let ego_x = self.ego_x;
        // Slower lanes enter in front and fall back; faster ones enter
        // from behind and overtake.
        for (lane, rel, rate) in [(0, 215.0, 0.25), (2, -105.0, 0.2), (3, -105.0, 0.2)] {
            if self.rng.random::<f64>() < rate * TICK_S
                && self.lane_free(lane, ego_x + rel, -40.0, 40.0)
                && self.agents.len() < MAX_ACTORS
            {
                let agent = self.highway_agent(lane, ego_x + rel, rel > 0.0);
                self.agents.push(agent);
            }
        }
    }

    fn lane_changes(&mut self, t: f64) {
        let ego_x = self.ego_x;
        let cut_in_due = t >= self.next_cut_in_s;
        let mut cut_in_done = false;
        for i in 0..self.agents.len() {
            let a = &self.agents[i];
            let Some(lane) = a.lane else { continue };
            if a.s < a.changing_until {
                continue;
            }
            let rel = a.pose.x - ego_x;
            let (target, cut_in) = if cut_in_due
                && !cut_in_done
                && (lane == 0 || lane == 2)
                && (18.0..45.0).contains(&rel)
                && a.label != Class::BUS
            {
                (1, true)
            } else if self.rng.random::<f64>() < 0.012 * TICK_S {
                let up = lane + 1 < HIGHWAY_LANES.len() && (lane == 0 || self.rng.random::<bool>());
                (if up { lane + 1 } else { lane.saturating_sub(1) }, false)
            } else {
                continue;
            };
            let (x, v) = (a.pose.x, a.v);
            let ahead = if target == 1 && rel > 0.0 { 25.0 } else { 35.0 };
            if target == lane || !self.lane_free(target, x, -25.0, ahead) {
                continue;
            }
            // Joining lane 1 behind the ego would have it follow the ego.
            if target == 1 && rel < 20.0 {
                continue;
            }
            let shift = HIGHWAY_LANES[target] - HIGHWAY_LANES[lane];
            let length = (v * if cut_in { 3.0 } else { 4.5 }).max(30.0);
            let desired = if cut_in {
                HIGHWAY_EGO_SPEED + 2.5
            } else {
                self.lane_speed(target, rel > 0.0)
            };
            let a = &mut self.agents[i];
            a.path = Path::lane_change((a.pose.x, a.pose.y), 0.0, shift, length, 1e6);
            a.s = 0.0;
            a.changing_until = length;
            a.lane = Some(target);
            a.desired = desired;
            if cut_in {
                cut_in_done = true;
            }
        }
        if cut_in_done {
            self.next_cut_in_s = t + self.rng.random_range(7.0..12.0);
        }
    }

    // ----- intersection -----
    //
    // The ego waits in the eastbound lane (y = 0, heading +x) at the stop
    // line x = 4 of a crossing centred at x = 14; the westbound lane is at
    // y = 3.5; the cross road's northbound lane at x = 15.75, southbound at
    // x = 12.25. A bike lane at y = -3, sidewalks at y = -5.5 and 9.5,
    // parked cars at y = 7.

    fn populate_intersection(&mut self) {
        // Queued behind the ego, and parked.
        for x in [-5.3, -11.8] {
            self.parked(Class::CAR, x, 0.0, 0.0);
        }
        // Bumper to bumper with 1–3 m between, some slots empty.
        let mut rear = -40.0;
        while rear < 60.0 {
            let label = if self.rng.random::<f64>() < 0.15 {
                Class::TRUCK
            } else {
                Class::CAR
            };
            let length = default_dimensions(label).0;
            let x = rear + length / 2.0;
            if !(1.0..27.0).contains(&x) && self.rng.random::<f64>() < 0.6 {
                self.parked(label, x, 7.0, PI);
            }
            rear += length + self.rng.random_range(1.0..3.0);
        }
    }

    fn parked(&mut self, label: u8, x: f64, y: f64, heading: f64) {
        let id = self.id();
        let mut agent = Agent::new(id, label, Path::straight((x, y), heading, 1.0), 0.0);
        agent.parked = true;
        agent.end = f64::INFINITY;
        self.agents.push(agent);
    }

    fn spawn_intersection(&mut self, t: f64) {
        let phase = t.rem_euclid(CYCLE_S);
        let turn_radius = 5.0;
        // (rate /s, kind) of each entry.
        // An arrival that finds its entry blocked waits (off the map) for
        // it to clear.
        let entries: [(f64, u8); 6] =
            [(0.3, 0), (0.25, 1), (0.3, 2), (0.06, 3), (0.1, 4), (0.1, 5)];
        for (rate, entry) in entries {
            let waiting = self.waiting & (1 << entry) != 0;
            // Room is kept for the crosswalk's pedestrians.
            if self.agents.len() >= MAX_ACTORS - 4
                || !waiting && self.rng.random::<f64>() >= rate * TICK_S
            {
                continue;
            }
            let turn = self.rng.random::<f64>() < 0.4;
            let (label, path, desired, stop) = match entry {
                // Northbound; right turns end eastbound in the ego's lane,
                // ahead of it.
                0 => {
                    let from = (15.75, -80.0);
                    let path = if turn {
                        Path::turning(
                            from,
                            FRAC_PI_2,
                            80.0 - turn_radius,
                            turn_radius,
                            -FRAC_PI_2,
                            120.0,
                        )
                    } else {
                        Path::straight(from, FRAC_PI_2, 180.0)
                    };
                    let label = self.vehicle_label(!turn);
                    let v = self.rng.random_range(10.0..13.0);
                    (label, path, v, Some((Signal::CrossRoad, 80.0 - 6.5)))
                }
                // Southbound, straight on (turning right, it would cross the
                // crosswalk in front of the ego while pedestrians have green).
                1 => {
                    let path = Path::straight((12.25, 80.0), -FRAC_PI_2, 180.0);
                    let label = self.vehicle_label(true);
                    let v = self.rng.random_range(10.0..13.0);
                    (label, path, v, Some((Signal::CrossRoad, 80.0 - 11.0)))
                }
                // Westbound, passing the ego, straight on.
                2 => {
                    let path = Path::straight((110.0, 3.5), PI, 230.0);
                    let label = self.vehicle_label(true);
                    let v = self.rng.random_range(9.0..12.0);
                    (label, path, v, Some((Signal::EgoRoad, 110.0 - 19.5)))
                }
                // Cyclists eastbound in the bike lane, past the ego.
                3 => {
                    let path = Path::straight((-70.0, -3.0), 0.0, 200.0);
                    let v = self.rng.random_range(4.0..6.5);
                    (Class::BICYCLE, path, v, Some((Signal::EgoRoad, 70.0 + 4.0)))
                }
                // Pedestrians on the sidewalks along the ego's road, turning
                // the corner away from it (they never cross a road here).
                _ => {
                    let path = if entry == 4 {
                        Path::turning((-60.0, -5.5), 0.0, 68.0, 1.5, -FRAC_PI_2, 60.0)
                    } else {
                        Path::turning((70.0, 9.5), PI, 50.0, 1.5, -FRAC_PI_2, 60.0)
                    };
                    let v = self.rng.random_range(1.1..1.6);
                    (Class::PEDESTRIAN, path, v, None)
                }
            };
            let start = path.pose_at(0.0);
            // Room to stop behind whoever is near the entry.
            let length = default_dimensions(label).0;
            let clearance = desired * desired / (2.0 * 4.0) + 4.0;
            let blocked = self.agents.iter().any(|a| {
                (a.pose.x - start.x).hypot(a.pose.y - start.y)
                    < 0.5 * (a.dims.0 + length) + clearance
            });
            if blocked {
                self.waiting |= 1 << entry;
            } else {
                self.waiting &= !(1 << entry);
                let id = self.id();
                let mut agent = Agent::new(id, label, path, desired);
                agent.stop = stop;
                self.agents.push(agent);
            }
        }
        // Pedestrians cross the ego's road while it is red.
        // At least one a cycle, a few more at random.
        let first = self.tick.rem_euclid((CYCLE_S / TICK_S) as i64) == (0.5 / TICK_S) as i64;
        if (0.5..2.0).contains(&phase)
            && (first || self.rng.random::<f64>() < 0.8 * TICK_S)
            && self.agents.len() < MAX_ACTORS
        {
            let north = self.rng.random::<bool>();
            // Each direction keeps to its half of the crosswalk.
            let (from, heading) = if north {
                ((6.4, -7.0), FRAC_PI_2)
            } else {
                ((7.6, 8.5), -FRAC_PI_2)
            };
            // Across before the ego's road gets green.
            let path = Path::straight(from, heading, 15.5);
            let v = self.rng.random_range(1.35..1.7);
            let free = self
                .agents
                .iter()
                .all(|a| (a.pose.x - from.0).hypot(a.pose.y - from.1) > 2.0);
            if free {
                let id = self.id();
                self.agents.push(Agent::new(id, Class::PEDESTRIAN, path, v));
            }
        }
    }
}

/// Whether `signal` lets an agent go at `t`: green, or yellow for one that
/// could not stop comfortably anyway.
fn green(signal: Signal, t: f64, can_stop: bool) -> bool {
    let phase = t.rem_euclid(CYCLE_S);
    let half = CYCLE_S / 2.0;
    // Each half ends with all red, for whoever entered on yellow to clear.
    let (start, end) = match signal {
        Signal::CrossRoad => (0.0, half - ALL_RED_S),
        Signal::EgoRoad => (half, CYCLE_S - ALL_RED_S),
    };
    if !(start..end).contains(&phase) {
        return false;
    }
    phase < end - YELLOW_S || !can_stop
}

/// The nearest obstacle ahead of `me` (heading `heading`) in its
/// corridor, other than `obstacles[skip]`: (gap, its speed along our
/// heading).
///
/// Right of way is the signals' business: traffic follows what goes its
/// way (within 60°) and ignores crossing traffic, which a signal keeps
/// out of the way. Vehicles also yield to pedestrians anywhere in their
/// path; pedestrians follow pedestrians and never wait for a vehicle, so
/// two never wait for each other.
fn lead(me: &Obstacle, heading: f64, skip: usize, obstacles: &[Obstacle]) -> Option<(f64, f64)> {
    let (hs, hc) = heading.sin_cos();
    let mut lead: Option<(f64, f64)> = None;
    for (j, o) in obstacles.iter().enumerate() {
        let same_way = crate::geom::wrap_angle(o.heading - heading).abs() < FRAC_PI_3;
        let relevant = if me.pedestrian {
            o.pedestrian && same_way
        } else {
            same_way || o.pedestrian
        };
        if j == skip || !relevant {
            continue;
        }
        let (dx, dy) = (o.x - me.x, o.y - me.y);
        let ahead = dx * hc + dy * hs;
        let across = (-dx * hs + dy * hc).abs();
        // The obstacle's half extents along and across our heading.
        let (rs, rc) = (o.heading - heading).sin_cos();
        let half_along = 0.5 * (o.length * rc.abs() + o.width * rs.abs());
        let half_across = 0.5 * (o.length * rs.abs() + o.width * rc.abs());
        if ahead <= 0.0 || across > 0.5 * me.width + half_across + 0.4 {
            continue;
        }
        let gap = ahead - 0.5 * me.length - half_along;
        if lead.is_none_or(|(g, _)| gap < g) {
            lead = Some((gap, o.vx * hc + o.vy * hs));
        }
    }
    lead
}

/// The Intelligent Driver Model's acceleration at speed `v` behind `lead`
/// (gap in metres, leader's speed along our heading), or on a free road.
fn idm(
    v: f64,
    desired: f64,
    accel: f64,
    min_gap: f64,
    headway: f64,
    lead: Option<(f64, f64)>,
) -> f64 {
    const COMFORTABLE_BRAKING: f64 = 2.5;
    if desired <= 0.0 {
        return -v / TICK_S;
    }
    let free = 1.0 - (v / desired).powi(4);
    let interaction = lead.map_or(0.0, |(gap, lead_v)| {
        let dv = v - lead_v;
        let wanted = min_gap
            + (v * headway + v * dv / (2.0 * (accel * COMFORTABLE_BRAKING).sqrt())).max(0.0);
        (wanted / gap.max(0.05)).powi(2)
    });
    (accel * (free - interaction)).clamp(-9.0, accel)
}
