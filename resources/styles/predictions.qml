<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis hasScaleBasedVisibilityFlag="0" maxScale="0" minScale="100000000" simplifyAlgorithm="0" simplifyDrawingHints="1" simplifyDrawingTol="1" simplifyLocal="1" simplifyMaxScale="1" styleCategories="Symbology|Fields|MapTips|Rendering" symbologyReferenceScale="-1" version="3.22.16-Białowieża">
 <renderer-v2 enableorderby="0" forceraster="0" referencescale="-1" symbollevels="0" tolerance="3" toleranceUnit="MM" toleranceUnitScale="3x:0,0,0,0,0,0" type="pointCluster">
  <renderer-v2 enableorderby="0" forceraster="0" referencescale="-1" symbollevels="0" type="RuleRenderer">
   <rules key="{8d1a7c3e-0000-4000-8000-000000000000}">
    <rule filter="attribute('method') = 'exif'" key="{8d1a7c3e-0000-4000-8000-000000000001}" label="placed by the photo's EXIF GPS" symbol="0"></rule>
    <rule filter="attribute('method') = 'track'" key="{8d1a7c3e-0000-4000-8000-000000000002}" label="placed by time on a track" symbol="1"></rule>
    <rule filter="coalesce(attribute('method'), 'model') NOT IN ('exif', 'track') AND &quot;confidence&quot; &lt; 0.05" key="{8d1a7c3e-0000-4000-8000-000000000003}" label="model: below 5%" symbol="2"></rule>
    <rule filter="coalesce(attribute('method'), 'model') NOT IN ('exif', 'track') AND &quot;confidence&quot; >= 0.05 AND &quot;confidence&quot; &lt; 0.2" key="{8d1a7c3e-0000-4000-8000-000000000004}" label="model: 5–20%" symbol="3"></rule>
    <rule filter="coalesce(attribute('method'), 'model') NOT IN ('exif', 'track') AND &quot;confidence&quot; >= 0.2 AND &quot;confidence&quot; &lt; 0.5" key="{8d1a7c3e-0000-4000-8000-000000000005}" label="model: 20–50%" symbol="4"></rule>
    <rule filter="coalesce(attribute('method'), 'model') NOT IN ('exif', 'track') AND &quot;confidence&quot; >= 0.5" key="{8d1a7c3e-0000-4000-8000-000000000006}" label="model: 50% and more" symbol="5"></rule>
   </rules>
   <symbols>
    <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="0" type="marker">
     <data_defined_properties>
      <Option type="Map">
       <Option name="name" type="QString" value=""></Option>
       <Option name="properties"></Option>
       <Option name="type" type="QString" value="collection"></Option>
      </Option>
     </data_defined_properties>
     <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
      <Option type="Map">
       <Option name="angle" type="QString" value="0"></Option>
       <Option name="cap_style" type="QString" value="square"></Option>
       <Option name="color" type="QString" value="51,160,44,255"></Option>
       <Option name="horizontal_anchor_point" type="QString" value="1"></Option>
       <Option name="joinstyle" type="QString" value="bevel"></Option>
       <Option name="name" type="QString" value="square"></Option>
       <Option name="offset" type="QString" value="0,0"></Option>
       <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="offset_unit" type="QString" value="MM"></Option>
       <Option name="outline_color" type="QString" value="26,26,26,255"></Option>
       <Option name="outline_style" type="QString" value="solid"></Option>
       <Option name="outline_width" type="QString" value="0.3"></Option>
       <Option name="outline_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="outline_width_unit" type="QString" value="MM"></Option>
       <Option name="scale_method" type="QString" value="diameter"></Option>
       <Option name="size" type="QString" value="3"></Option>
       <Option name="size_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="size_unit" type="QString" value="MM"></Option>
       <Option name="vertical_anchor_point" type="QString" value="1"></Option>
      </Option>
      <prop k="angle" v="0"></prop>
      <prop k="cap_style" v="square"></prop>
      <prop k="color" v="51,160,44,255"></prop>
      <prop k="horizontal_anchor_point" v="1"></prop>
      <prop k="joinstyle" v="bevel"></prop>
      <prop k="name" v="square"></prop>
      <prop k="offset" v="0,0"></prop>
      <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="offset_unit" v="MM"></prop>
      <prop k="outline_color" v="26,26,26,255"></prop>
      <prop k="outline_style" v="solid"></prop>
      <prop k="outline_width" v="0.3"></prop>
      <prop k="outline_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="outline_width_unit" v="MM"></prop>
      <prop k="scale_method" v="diameter"></prop>
      <prop k="size" v="3"></prop>
      <prop k="size_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="size_unit" v="MM"></prop>
      <prop k="vertical_anchor_point" v="1"></prop>
      <data_defined_properties>
       <Option type="Map">
        <Option name="name" type="QString" value=""></Option>
        <Option name="properties"></Option>
        <Option name="type" type="QString" value="collection"></Option>
       </Option>
      </data_defined_properties>
     </layer>
    </symbol>
    <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="1" type="marker">
     <data_defined_properties>
      <Option type="Map">
       <Option name="name" type="QString" value=""></Option>
       <Option name="properties"></Option>
       <Option name="type" type="QString" value="collection"></Option>
      </Option>
     </data_defined_properties>
     <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
      <Option type="Map">
       <Option name="angle" type="QString" value="0"></Option>
       <Option name="cap_style" type="QString" value="square"></Option>
       <Option name="color" type="QString" value="31,120,180,255"></Option>
       <Option name="horizontal_anchor_point" type="QString" value="1"></Option>
       <Option name="joinstyle" type="QString" value="bevel"></Option>
       <Option name="name" type="QString" value="diamond"></Option>
       <Option name="offset" type="QString" value="0,0"></Option>
       <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="offset_unit" type="QString" value="MM"></Option>
       <Option name="outline_color" type="QString" value="26,26,26,255"></Option>
       <Option name="outline_style" type="QString" value="solid"></Option>
       <Option name="outline_width" type="QString" value="0.3"></Option>
       <Option name="outline_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="outline_width_unit" type="QString" value="MM"></Option>
       <Option name="scale_method" type="QString" value="diameter"></Option>
       <Option name="size" type="QString" value="3.8"></Option>
       <Option name="size_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="size_unit" type="QString" value="MM"></Option>
       <Option name="vertical_anchor_point" type="QString" value="1"></Option>
      </Option>
      <prop k="angle" v="0"></prop>
      <prop k="cap_style" v="square"></prop>
      <prop k="color" v="31,120,180,255"></prop>
      <prop k="horizontal_anchor_point" v="1"></prop>
      <prop k="joinstyle" v="bevel"></prop>
      <prop k="name" v="diamond"></prop>
      <prop k="offset" v="0,0"></prop>
      <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="offset_unit" v="MM"></prop>
      <prop k="outline_color" v="26,26,26,255"></prop>
      <prop k="outline_style" v="solid"></prop>
      <prop k="outline_width" v="0.3"></prop>
      <prop k="outline_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="outline_width_unit" v="MM"></prop>
      <prop k="scale_method" v="diameter"></prop>
      <prop k="size" v="3.8"></prop>
      <prop k="size_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="size_unit" v="MM"></prop>
      <prop k="vertical_anchor_point" v="1"></prop>
      <data_defined_properties>
       <Option type="Map">
        <Option name="name" type="QString" value=""></Option>
        <Option name="properties"></Option>
        <Option name="type" type="QString" value="collection"></Option>
       </Option>
      </data_defined_properties>
     </layer>
    </symbol>
    <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="2" type="marker">
     <data_defined_properties>
      <Option type="Map">
       <Option name="name" type="QString" value=""></Option>
       <Option name="properties"></Option>
       <Option name="type" type="QString" value="collection"></Option>
      </Option>
     </data_defined_properties>
     <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
      <Option type="Map">
       <Option name="angle" type="QString" value="0"></Option>
       <Option name="cap_style" type="QString" value="square"></Option>
       <Option name="color" type="QString" value="253,212,158,255"></Option>
       <Option name="horizontal_anchor_point" type="QString" value="1"></Option>
       <Option name="joinstyle" type="QString" value="bevel"></Option>
       <Option name="name" type="QString" value="circle"></Option>
       <Option name="offset" type="QString" value="0,0"></Option>
       <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="offset_unit" type="QString" value="MM"></Option>
       <Option name="outline_color" type="QString" value="26,26,26,255"></Option>
       <Option name="outline_style" type="QString" value="solid"></Option>
       <Option name="outline_width" type="QString" value="0.3"></Option>
       <Option name="outline_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="outline_width_unit" type="QString" value="MM"></Option>
       <Option name="scale_method" type="QString" value="diameter"></Option>
       <Option name="size" type="QString" value="3.2"></Option>
       <Option name="size_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="size_unit" type="QString" value="MM"></Option>
       <Option name="vertical_anchor_point" type="QString" value="1"></Option>
      </Option>
      <prop k="angle" v="0"></prop>
      <prop k="cap_style" v="square"></prop>
      <prop k="color" v="253,212,158,255"></prop>
      <prop k="horizontal_anchor_point" v="1"></prop>
      <prop k="joinstyle" v="bevel"></prop>
      <prop k="name" v="circle"></prop>
      <prop k="offset" v="0,0"></prop>
      <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="offset_unit" v="MM"></prop>
      <prop k="outline_color" v="26,26,26,255"></prop>
      <prop k="outline_style" v="solid"></prop>
      <prop k="outline_width" v="0.3"></prop>
      <prop k="outline_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="outline_width_unit" v="MM"></prop>
      <prop k="scale_method" v="diameter"></prop>
      <prop k="size" v="3.2"></prop>
      <prop k="size_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="size_unit" v="MM"></prop>
      <prop k="vertical_anchor_point" v="1"></prop>
      <data_defined_properties>
       <Option type="Map">
        <Option name="name" type="QString" value=""></Option>
        <Option name="properties"></Option>
        <Option name="type" type="QString" value="collection"></Option>
       </Option>
      </data_defined_properties>
     </layer>
    </symbol>
    <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="3" type="marker">
     <data_defined_properties>
      <Option type="Map">
       <Option name="name" type="QString" value=""></Option>
       <Option name="properties"></Option>
       <Option name="type" type="QString" value="collection"></Option>
      </Option>
     </data_defined_properties>
     <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
      <Option type="Map">
       <Option name="angle" type="QString" value="0"></Option>
       <Option name="cap_style" type="QString" value="square"></Option>
       <Option name="color" type="QString" value="252,141,89,255"></Option>
       <Option name="horizontal_anchor_point" type="QString" value="1"></Option>
       <Option name="joinstyle" type="QString" value="bevel"></Option>
       <Option name="name" type="QString" value="circle"></Option>
       <Option name="offset" type="QString" value="0,0"></Option>
       <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="offset_unit" type="QString" value="MM"></Option>
       <Option name="outline_color" type="QString" value="26,26,26,255"></Option>
       <Option name="outline_style" type="QString" value="solid"></Option>
       <Option name="outline_width" type="QString" value="0.3"></Option>
       <Option name="outline_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="outline_width_unit" type="QString" value="MM"></Option>
       <Option name="scale_method" type="QString" value="diameter"></Option>
       <Option name="size" type="QString" value="3.6"></Option>
       <Option name="size_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="size_unit" type="QString" value="MM"></Option>
       <Option name="vertical_anchor_point" type="QString" value="1"></Option>
      </Option>
      <prop k="angle" v="0"></prop>
      <prop k="cap_style" v="square"></prop>
      <prop k="color" v="252,141,89,255"></prop>
      <prop k="horizontal_anchor_point" v="1"></prop>
      <prop k="joinstyle" v="bevel"></prop>
      <prop k="name" v="circle"></prop>
      <prop k="offset" v="0,0"></prop>
      <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="offset_unit" v="MM"></prop>
      <prop k="outline_color" v="26,26,26,255"></prop>
      <prop k="outline_style" v="solid"></prop>
      <prop k="outline_width" v="0.3"></prop>
      <prop k="outline_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="outline_width_unit" v="MM"></prop>
      <prop k="scale_method" v="diameter"></prop>
      <prop k="size" v="3.6"></prop>
      <prop k="size_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="size_unit" v="MM"></prop>
      <prop k="vertical_anchor_point" v="1"></prop>
      <data_defined_properties>
       <Option type="Map">
        <Option name="name" type="QString" value=""></Option>
        <Option name="properties"></Option>
        <Option name="type" type="QString" value="collection"></Option>
       </Option>
      </data_defined_properties>
     </layer>
    </symbol>
    <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="4" type="marker">
     <data_defined_properties>
      <Option type="Map">
       <Option name="name" type="QString" value=""></Option>
       <Option name="properties"></Option>
       <Option name="type" type="QString" value="collection"></Option>
      </Option>
     </data_defined_properties>
     <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
      <Option type="Map">
       <Option name="angle" type="QString" value="0"></Option>
       <Option name="cap_style" type="QString" value="square"></Option>
       <Option name="color" type="QString" value="227,74,51,255"></Option>
       <Option name="horizontal_anchor_point" type="QString" value="1"></Option>
       <Option name="joinstyle" type="QString" value="bevel"></Option>
       <Option name="name" type="QString" value="circle"></Option>
       <Option name="offset" type="QString" value="0,0"></Option>
       <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="offset_unit" type="QString" value="MM"></Option>
       <Option name="outline_color" type="QString" value="26,26,26,255"></Option>
       <Option name="outline_style" type="QString" value="solid"></Option>
       <Option name="outline_width" type="QString" value="0.3"></Option>
       <Option name="outline_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="outline_width_unit" type="QString" value="MM"></Option>
       <Option name="scale_method" type="QString" value="diameter"></Option>
       <Option name="size" type="QString" value="4.2"></Option>
       <Option name="size_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="size_unit" type="QString" value="MM"></Option>
       <Option name="vertical_anchor_point" type="QString" value="1"></Option>
      </Option>
      <prop k="angle" v="0"></prop>
      <prop k="cap_style" v="square"></prop>
      <prop k="color" v="227,74,51,255"></prop>
      <prop k="horizontal_anchor_point" v="1"></prop>
      <prop k="joinstyle" v="bevel"></prop>
      <prop k="name" v="circle"></prop>
      <prop k="offset" v="0,0"></prop>
      <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="offset_unit" v="MM"></prop>
      <prop k="outline_color" v="26,26,26,255"></prop>
      <prop k="outline_style" v="solid"></prop>
      <prop k="outline_width" v="0.3"></prop>
      <prop k="outline_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="outline_width_unit" v="MM"></prop>
      <prop k="scale_method" v="diameter"></prop>
      <prop k="size" v="4.2"></prop>
      <prop k="size_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="size_unit" v="MM"></prop>
      <prop k="vertical_anchor_point" v="1"></prop>
      <data_defined_properties>
       <Option type="Map">
        <Option name="name" type="QString" value=""></Option>
        <Option name="properties"></Option>
        <Option name="type" type="QString" value="collection"></Option>
       </Option>
      </data_defined_properties>
     </layer>
    </symbol>
    <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="5" type="marker">
     <data_defined_properties>
      <Option type="Map">
       <Option name="name" type="QString" value=""></Option>
       <Option name="properties"></Option>
       <Option name="type" type="QString" value="collection"></Option>
      </Option>
     </data_defined_properties>
     <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
      <Option type="Map">
       <Option name="angle" type="QString" value="0"></Option>
       <Option name="cap_style" type="QString" value="square"></Option>
       <Option name="color" type="QString" value="127,0,0,255"></Option>
       <Option name="horizontal_anchor_point" type="QString" value="1"></Option>
       <Option name="joinstyle" type="QString" value="bevel"></Option>
       <Option name="name" type="QString" value="circle"></Option>
       <Option name="offset" type="QString" value="0,0"></Option>
       <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="offset_unit" type="QString" value="MM"></Option>
       <Option name="outline_color" type="QString" value="26,26,26,255"></Option>
       <Option name="outline_style" type="QString" value="solid"></Option>
       <Option name="outline_width" type="QString" value="0.3"></Option>
       <Option name="outline_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="outline_width_unit" type="QString" value="MM"></Option>
       <Option name="scale_method" type="QString" value="diameter"></Option>
       <Option name="size" type="QString" value="5"></Option>
       <Option name="size_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
       <Option name="size_unit" type="QString" value="MM"></Option>
       <Option name="vertical_anchor_point" type="QString" value="1"></Option>
      </Option>
      <prop k="angle" v="0"></prop>
      <prop k="cap_style" v="square"></prop>
      <prop k="color" v="127,0,0,255"></prop>
      <prop k="horizontal_anchor_point" v="1"></prop>
      <prop k="joinstyle" v="bevel"></prop>
      <prop k="name" v="circle"></prop>
      <prop k="offset" v="0,0"></prop>
      <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="offset_unit" v="MM"></prop>
      <prop k="outline_color" v="26,26,26,255"></prop>
      <prop k="outline_style" v="solid"></prop>
      <prop k="outline_width" v="0.3"></prop>
      <prop k="outline_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="outline_width_unit" v="MM"></prop>
      <prop k="scale_method" v="diameter"></prop>
      <prop k="size" v="5"></prop>
      <prop k="size_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
      <prop k="size_unit" v="MM"></prop>
      <prop k="vertical_anchor_point" v="1"></prop>
      <data_defined_properties>
       <Option type="Map">
        <Option name="name" type="QString" value=""></Option>
        <Option name="properties"></Option>
        <Option name="type" type="QString" value="collection"></Option>
       </Option>
      </data_defined_properties>
     </layer>
    </symbol>
   </symbols>
  </renderer-v2>
  <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="centerSymbol" type="marker">
   <data_defined_properties>
    <Option type="Map">
     <Option name="name" type="QString" value=""></Option>
     <Option name="properties"></Option>
     <Option name="type" type="QString" value="collection"></Option>
    </Option>
   </data_defined_properties>
   <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
    <Option type="Map">
     <Option name="angle" type="QString" value="0"></Option>
     <Option name="cap_style" type="QString" value="square"></Option>
     <Option name="color" type="QString" value="59,15,15,255"></Option>
     <Option name="horizontal_anchor_point" type="QString" value="1"></Option>
     <Option name="joinstyle" type="QString" value="bevel"></Option>
     <Option name="name" type="QString" value="circle"></Option>
     <Option name="offset" type="QString" value="0,0"></Option>
     <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
     <Option name="offset_unit" type="QString" value="MM"></Option>
     <Option name="outline_color" type="QString" value="255,255,255,255"></Option>
     <Option name="outline_style" type="QString" value="solid"></Option>
     <Option name="outline_width" type="QString" value="0.3"></Option>
     <Option name="outline_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
     <Option name="outline_width_unit" type="QString" value="MM"></Option>
     <Option name="scale_method" type="QString" value="diameter"></Option>
     <Option name="size" type="QString" value="6"></Option>
     <Option name="size_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
     <Option name="size_unit" type="QString" value="MM"></Option>
     <Option name="vertical_anchor_point" type="QString" value="1"></Option>
    </Option>
    <prop k="angle" v="0"></prop>
    <prop k="cap_style" v="square"></prop>
    <prop k="color" v="59,15,15,255"></prop>
    <prop k="horizontal_anchor_point" v="1"></prop>
    <prop k="joinstyle" v="bevel"></prop>
    <prop k="name" v="circle"></prop>
    <prop k="offset" v="0,0"></prop>
    <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
    <prop k="offset_unit" v="MM"></prop>
    <prop k="outline_color" v="255,255,255,255"></prop>
    <prop k="outline_style" v="solid"></prop>
    <prop k="outline_width" v="0.3"></prop>
    <prop k="outline_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
    <prop k="outline_width_unit" v="MM"></prop>
    <prop k="scale_method" v="diameter"></prop>
    <prop k="size" v="6"></prop>
    <prop k="size_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
    <prop k="size_unit" v="MM"></prop>
    <prop k="vertical_anchor_point" v="1"></prop>
    <data_defined_properties>
     <Option type="Map">
      <Option name="name" type="QString" value=""></Option>
      <Option name="properties"></Option>
      <Option name="type" type="QString" value="collection"></Option>
     </Option>
    </data_defined_properties>
   </layer>
   <layer class="FontMarker" enabled="1" locked="0" pass="0">
    <Option type="Map">
     <Option name="angle" type="QString" value="0"></Option>
     <Option name="chr" type="QString" value="0"></Option>
     <Option name="color" type="QString" value="255,255,255,255"></Option>
     <Option name="font" type="QString" value="Sans Serif"></Option>
     <Option name="font_style" type="QString" value="Bold"></Option>
     <Option name="horizontal_anchor_point" type="QString" value="1"></Option>
     <Option name="joinstyle" type="QString" value="miter"></Option>
     <Option name="offset" type="QString" value="0,0"></Option>
     <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
     <Option name="offset_unit" type="QString" value="MM"></Option>
     <Option name="outline_color" type="QString" value="255,255,255,255"></Option>
     <Option name="outline_width" type="QString" value="0"></Option>
     <Option name="outline_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
     <Option name="outline_width_unit" type="QString" value="MM"></Option>
     <Option name="size" type="QString" value="3.4"></Option>
     <Option name="size_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
     <Option name="size_unit" type="QString" value="MM"></Option>
     <Option name="vertical_anchor_point" type="QString" value="1"></Option>
    </Option>
    <prop k="angle" v="0"></prop>
    <prop k="chr" v="0"></prop>
    <prop k="color" v="255,255,255,255"></prop>
    <prop k="font" v="Sans Serif"></prop>
    <prop k="font_style" v="Bold"></prop>
    <prop k="horizontal_anchor_point" v="1"></prop>
    <prop k="joinstyle" v="miter"></prop>
    <prop k="offset" v="0,0"></prop>
    <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
    <prop k="offset_unit" v="MM"></prop>
    <prop k="outline_color" v="255,255,255,255"></prop>
    <prop k="outline_width" v="0"></prop>
    <prop k="outline_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
    <prop k="outline_width_unit" v="MM"></prop>
    <prop k="size" v="3.4"></prop>
    <prop k="size_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
    <prop k="size_unit" v="MM"></prop>
    <prop k="vertical_anchor_point" v="1"></prop>
    <data_defined_properties>
     <Option type="Map">
      <Option name="name" type="QString" value=""></Option>
      <Option name="properties" type="Map">
       <Option name="char" type="Map">
        <Option name="active" type="bool" value="true"></Option>
        <Option name="expression" type="QString" value="@cluster_size"></Option>
        <Option name="type" type="int" value="3"></Option>
       </Option>
      </Option>
      <Option name="type" type="QString" value="collection"></Option>
     </Option>
    </data_defined_properties>
   </layer>
  </symbol>
 </renderer-v2>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerOpacity>1</layerOpacity>
 <fieldConfiguration>
  <field configurationFlags="None" name="photo_path"></field>
  <field configurationFlags="None" name="photo_relpath"></field>
  <field configurationFlags="None" name="file_name"></field>
  <field configurationFlags="None" name="place"></field>
  <field configurationFlags="None" name="confidence"></field>
  <field configurationFlags="None" name="method"></field>
  <field configurationFlags="None" name="radius_m"></field>
 </fieldConfiguration>
 <aliases>
  <alias field="photo_path" index="0" name=""></alias>
  <alias field="photo_relpath" index="1" name=""></alias>
  <alias field="file_name" index="2" name=""></alias>
  <alias field="place" index="3" name=""></alias>
  <alias field="confidence" index="4" name=""></alias>
  <alias field="method" index="5" name=""></alias>
  <alias field="radius_m" index="6" name=""></alias>
 </aliases>
 <defaults>
  <default applyOnUpdate="0" expression="" field="photo_path"></default>
  <default applyOnUpdate="0" expression="" field="photo_relpath"></default>
  <default applyOnUpdate="0" expression="" field="file_name"></default>
  <default applyOnUpdate="0" expression="" field="place"></default>
  <default applyOnUpdate="0" expression="" field="confidence"></default>
  <default applyOnUpdate="0" expression="" field="method"></default>
  <default applyOnUpdate="0" expression="" field="radius_m"></default>
 </defaults>
 <constraints>
  <constraint constraints="0" exp_strength="0" field="photo_path" notnull_strength="0" unique_strength="0"></constraint>
  <constraint constraints="0" exp_strength="0" field="photo_relpath" notnull_strength="0" unique_strength="0"></constraint>
  <constraint constraints="0" exp_strength="0" field="file_name" notnull_strength="0" unique_strength="0"></constraint>
  <constraint constraints="0" exp_strength="0" field="place" notnull_strength="0" unique_strength="0"></constraint>
  <constraint constraints="0" exp_strength="0" field="confidence" notnull_strength="0" unique_strength="0"></constraint>
  <constraint constraints="0" exp_strength="0" field="method" notnull_strength="0" unique_strength="0"></constraint>
  <constraint constraints="0" exp_strength="0" field="radius_m" notnull_strength="0" unique_strength="0"></constraint>
 </constraints>
 <constraintExpressions>
  <constraint desc="" exp="" field="photo_path"></constraint>
  <constraint desc="" exp="" field="photo_relpath"></constraint>
  <constraint desc="" exp="" field="file_name"></constraint>
  <constraint desc="" exp="" field="place"></constraint>
  <constraint desc="" exp="" field="confidence"></constraint>
  <constraint desc="" exp="" field="method"></constraint>
  <constraint desc="" exp="" field="radius_m"></constraint>
 </constraintExpressions>
 <expressionfields></expressionfields>
 <mapTip>&lt;div style="max-width:220px"&gt;&lt;b&gt;[% "file_name" %]&lt;/b&gt;&lt;br&gt;[% "place" %] — [% if(attribute('method') IN ('exif', 'track'), 'placed by ' || if(attribute('method') = 'exif', 'EXIF GPS', 'track (± ' || format_number(attribute('radius_m'), 0) || ' m)'), format_number("confidence" * 100, 1) || '%') %]&lt;br&gt;scene: [% coalesce(attribute('scene_name'), "scene") %]&lt;br&gt;&lt;img src="file:///[% regexp_replace(replace(if(file_exists("photo_path"), "photo_path", file_path(layer_property(@layer, 'path')) || '/' || "photo_relpath"), '\\', '/'), '^/+', '') %]" width="200"&gt;&lt;/div&gt;</mapTip>
 <layerGeometryType>0</layerGeometryType>
</qgis>
